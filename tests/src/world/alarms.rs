//! CloudWatch in the recovery Region: the plan's failover alarms and the replication-lag
//! metrics RDS would publish.

use super::{RECOVERY, World, in_region};

impl World {
    /// CloudWatch alarms `names` in the recovery Region (OK until set otherwise), each on a metric
    /// of its own name, as a plan's failover alarms would be.
    pub async fn failover_alarms(&self, names: &[&str]) {
        use aws_sdk_cloudwatch::types::{ComparisonOperator, Statistic};
        for name in names {
            self.cloudwatch(RECOVERY)
                .put_metric_alarm()
                .alarm_name(*name)
                .namespace("Tracking")
                .metric_name(*name)
                .statistic(Statistic::Sum)
                .period(60)
                .evaluation_periods(1)
                .threshold(1.0)
                .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
                .send()
                .await
                .unwrap_or_else(|e| panic!("put alarm {name}: {e:?}"));
        }
    }

    /// A CloudWatch client of this account in any Region.
    pub fn cloudwatch(&self, region: &str) -> aws_sdk_cloudwatch::Client {
        aws_sdk_cloudwatch::Client::new(&in_region(&self.account.config, region))
    }

    /// A replication lag data point (milliseconds for `AuroraGlobalDBRPOLag`, seconds for
    /// `ReplicaLag` and `AuroraBinlogReplicaLag`, as CloudWatch's `AWS/RDS` metrics are) for
    /// `dimension` = `value` in the recovery Region, where RDS would publish it, now.
    pub async fn put_lag_metric(&self, metric: &str, dimension: &str, value: &str, lag: f64) {
        use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
        let unit = if metric == "AuroraGlobalDBRPOLag" {
            StandardUnit::Milliseconds
        } else {
            StandardUnit::Seconds
        };
        self.cloudwatch(RECOVERY)
            .put_metric_data()
            .namespace("AWS/RDS")
            .metric_data(
                MetricDatum::builder()
                    .metric_name(metric)
                    .dimensions(Dimension::builder().name(dimension).value(value).build())
                    .value(lag)
                    .unit(unit)
                    .timestamp(aws_sdk_cloudwatch::primitives::DateTime::from(
                        std::time::SystemTime::now(),
                    ))
                    .build(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {metric}: {e:?}"));
    }
}
