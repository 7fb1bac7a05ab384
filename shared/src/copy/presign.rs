//! The `PreSignedUrl` of an encrypted cross-Region RDS copy in AWS GovCloud (US).
//!
//! CopyDBSnapshot / CopyDBClusterSnapshot: "This setting applies only to AWS GovCloud (US)
//! Regions. It's ignored in other AWS Regions." There, the destination Region's RDS calls the
//! source Region's RDS on the caller's behalf with a request the caller signed for the source
//! Region. Other SDKs build it from `SourceRegion`; the Rust SDK has no `source_region` on these
//! operations, so Lifeboat builds it: a SigV4 query-presigned `GET` of the same action against
//! the source Region's endpoint, naming `DestinationRegion`, `KmsKeyId` and the source snapshot
//! ARN. The copy decision asks for it only when both Regions are in `aws-us-gov`.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

use super::SnapshotKind;
use crate::error::Error;
use crate::plan::Region;

/// How long the presigned request stays valid. RDS uses it when the copy starts, within
/// seconds; an hour matches what the other AWS SDKs sign.
pub(super) const PRESIGNED_URL_LIFETIME: Duration = Duration::from_secs(3600);

/// The RDS API version every query-protocol request names.
const RDS_API_VERSION: &str = "2014-10-31";

/// What the presigned URL asks the source Region to do.
#[derive(Debug, Clone)]
pub(super) struct CopyRequest<'a> {
    pub(super) kind: SnapshotKind,
    pub(super) source_snapshot_arn: &'a str,
    pub(super) source_region: &'a Region,
    pub(super) destination_region: &'a Region,
    pub(super) kms_key_id: &'a str,
}

/// Builds the `PreSignedUrl` for a cross-Region copy of an encrypted snapshot.
pub(super) fn presigned_copy_url(
    request: &CopyRequest<'_>,
    credentials: &Credentials,
    now: SystemTime,
) -> Result<String, Error> {
    let (action, source_parameter) = match request.kind {
        SnapshotKind::Instance => ("CopyDBSnapshot", "SourceDBSnapshotIdentifier"),
        SnapshotKind::Cluster => ("CopyDBClusterSnapshot", "SourceDBClusterSnapshotIdentifier"),
    };
    let endpoint = format!(
        "https://rds.{}.{}/",
        request.source_region,
        request.source_region.dns_suffix()
    );
    let mut url = url::Url::parse(&endpoint)
        .map_err(|e| Error::other(format!("bad RDS endpoint {endpoint}"), e))?;
    url.query_pairs_mut()
        .append_pair("Action", action)
        .append_pair("Version", RDS_API_VERSION)
        .append_pair(source_parameter, request.source_snapshot_arn)
        .append_pair("KmsKeyId", request.kms_key_id)
        .append_pair("DestinationRegion", request.destination_region.as_str());

    let identity: Identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(PRESIGNED_URL_LIFETIME);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(request.source_region.as_str())
        .name("rds")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| Error::other("cannot build SigV4 parameters", e))?
        .into();
    let signable = SignableRequest::new(
        "GET",
        url.as_str(),
        std::iter::empty(),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| Error::other("cannot presign the copy request", e))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| Error::other("cannot presign the copy request", e))?
        .into_parts();
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in instructions.params() {
            query.append_pair(name, value);
        }
    }
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    //! The presigned URL is checked against the SigV4 rules themselves, computed here
    //! independently of `aws-sigv4`: the canonical request, the string to sign, the derived key
    //! and the signature.

    use std::collections::BTreeMap;

    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};

    use super::*;

    const ACCESS_KEY: &str = "AKIDEXAMPLE";
    const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const SOURCE_ARN: &str =
        "arn:aws:rds:us-west-2:111122223333:snapshot:rds:orders-2026-11-25-03-10";
    const KMS_KEY: &str =
        "arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    fn at_2026_11_25_030000() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_575_600)
    }

    fn presign(kind: SnapshotKind, token: Option<&str>) -> url::Url {
        let source: Region = "us-west-2".parse().unwrap();
        let destination: Region = "us-east-2".parse().unwrap();
        let credentials = Credentials::new(
            ACCESS_KEY,
            SECRET_KEY,
            token.map(str::to_owned),
            None,
            "test",
        );
        let request = CopyRequest {
            kind,
            source_snapshot_arn: SOURCE_ARN,
            source_region: &source,
            destination_region: &destination,
            kms_key_id: KMS_KEY,
        };
        url::Url::parse(
            &presigned_copy_url(&request, &credentials, at_2026_11_25_030000()).unwrap(),
        )
        .unwrap()
    }

    fn query(url: &url::Url) -> BTreeMap<String, String> {
        url.query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    fn uri_encode(text: &str) -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                other => format!("%{other:02X}"),
            })
            .collect()
    }

    fn hmac(key: &[u8], data: &str) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(data.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// The signature SigV4 prescribes for this URL, computed from its own query parameters.
    fn expected_signature(url: &url::Url) -> String {
        let params = query(url);
        let canonical_query = params
            .iter()
            .filter(|(k, _)| *k != "X-Amz-Signature")
            .map(|(k, v)| format!("{}={}", uri_encode(k), uri_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let host = url.host_str().unwrap();
        let canonical_request = format!(
            "GET\n/\n{canonical_query}\nhost:{host}\n\nhost\n{}",
            hex::encode(Sha256::digest(b""))
        );
        let amz_date = &params["X-Amz-Date"];
        let scope = params["X-Amz-Credential"]
            .split_once('/')
            .unwrap()
            .1
            .to_owned();
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex::encode(Sha256::digest(canonical_request.as_bytes()))
        );
        let parts: Vec<&str> = scope.split('/').collect();
        let k_date = hmac(format!("AWS4{SECRET_KEY}").as_bytes(), parts[0]);
        let k_region = hmac(&k_date, parts[1]);
        let k_service = hmac(&k_region, parts[2]);
        let k_signing = hmac(&k_service, parts[3]);
        hex::encode(hmac(&k_signing, &string_to_sign))
    }

    #[test]
    fn instance_copy_url_is_signed_for_the_source_region() {
        let url = presign(SnapshotKind::Instance, None);
        assert_eq!(url.scheme(), "https");
        assert_eq!(url.host_str(), Some("rds.us-west-2.amazonaws.com"));
        let params = query(&url);
        assert_eq!(params["Action"], "CopyDBSnapshot");
        assert_eq!(params["Version"], "2014-10-31");
        assert_eq!(params["SourceDBSnapshotIdentifier"], SOURCE_ARN);
        assert_eq!(params["KmsKeyId"], KMS_KEY);
        assert_eq!(params["DestinationRegion"], "us-east-2");
        assert_eq!(params["X-Amz-Algorithm"], "AWS4-HMAC-SHA256");
        assert_eq!(
            params["X-Amz-Credential"],
            "AKIDEXAMPLE/20261125/us-west-2/rds/aws4_request"
        );
        assert_eq!(params["X-Amz-Date"], "20261125T030000Z");
        assert_eq!(params["X-Amz-Expires"], "3600");
        assert_eq!(params["X-Amz-SignedHeaders"], "host");
        assert_eq!(params["X-Amz-Signature"], expected_signature(&url));
    }

    #[test]
    fn cluster_copy_url_names_the_cluster_action() {
        let url = presign(SnapshotKind::Cluster, None);
        let params = query(&url);
        assert_eq!(params["Action"], "CopyDBClusterSnapshot");
        assert_eq!(params["SourceDBClusterSnapshotIdentifier"], SOURCE_ARN);
        assert!(!params.contains_key("SourceDBSnapshotIdentifier"));
        assert_eq!(params["X-Amz-Signature"], expected_signature(&url));
    }

    #[test]
    fn session_token_of_temporary_credentials_is_signed_into_the_url() {
        // Lambda runs with temporary credentials: without the token the source Region rejects
        // the request.
        let url = presign(SnapshotKind::Instance, Some("FwoGZXIvYXdzEXAMPLE/TOKEN+=="));
        let params = query(&url);
        assert_eq!(
            params["X-Amz-Security-Token"],
            "FwoGZXIvYXdzEXAMPLE/TOKEN+=="
        );
        assert_eq!(params["X-Amz-Signature"], expected_signature(&url));
    }

    #[test]
    fn a_changed_parameter_no_longer_matches_the_signature() {
        let url = presign(SnapshotKind::Instance, None);
        let mut tampered = url.clone();
        let pairs: Vec<(String, String)> = query(&url)
            .into_iter()
            .map(|(k, v)| {
                if k == "DestinationRegion" {
                    (k, "eu-west-1".to_owned())
                } else {
                    (k, v)
                }
            })
            .collect();
        tampered.query_pairs_mut().clear().extend_pairs(pairs);
        assert_ne!(
            query(&tampered)["X-Amz-Signature"],
            expected_signature(&tampered)
        );
    }
}
