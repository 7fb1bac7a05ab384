//! Route 53 in the account: hosted zones, record changes, and changes held `PENDING`.

use super::{World, in_region};

/// A Route 53 change batch that sets the CNAME `name` to `value` (UPSERT).
pub fn cname_upsert(name: &str, value: &str, ttl: i64) -> aws_sdk_route53::types::ChangeBatch {
    use aws_sdk_route53::types::{
        Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
    };
    let record = ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::Cname)
        .ttl(ttl)
        .resource_records(
            ResourceRecord::builder()
                .value(value)
                .build()
                .expect("a value"),
        )
        .build()
        .expect("a record");
    ChangeBatch::builder()
        .changes(
            Change::builder()
                .action(ChangeAction::Upsert)
                .resource_record_set(record)
                .build()
                .expect("a change"),
        )
        .build()
        .expect("a batch")
}

impl World {
    /// A Route 53 client of this account (a global service: signed for us-east-1).
    pub fn route53(&self) -> aws_sdk_route53::Client {
        aws_sdk_route53::Client::new(&in_region(&self.account.config, "us-east-1"))
    }

    /// A public hosted zone `name` (with the trailing dot) in Route 53; returns its ID (without
    /// `/hostedzone/`, as a plan names it).
    pub async fn hosted_zone(&self, name: &str) -> String {
        self.route53()
            .create_hosted_zone()
            .name(name)
            .caller_reference(format!("lifeboat-{name}-{}", self.account.id))
            .send()
            .await
            .unwrap_or_else(|e| panic!("create hosted zone {name}: {e:?}"))
            .hosted_zone()
            .expect("the hosted zone")
            .id()
            .trim_start_matches("/hostedzone/")
            .to_owned()
    }

    /// Makes every Route 53 change batch this account submits from now on stay `PENDING` for
    /// `reads` GetChange calls (0: `INSYNC` at once).
    pub async fn hold_route53_changes(&self, reads: u32) {
        self.control(
            "route53/hold-changes",
            serde_json::json!({ "account_id": self.account.id, "reads": reads }),
        )
        .await
        .unwrap_or_else(|e| panic!("hold Route 53 changes: {e}"));
    }
}
