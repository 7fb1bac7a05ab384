//! What Lifeboat's stack makes in the recovery Region: the state bucket, the event bus (and a
//! queue it delivers to, so a test reads the events back).

use super::{RECOVERY, World};

impl World {
    /// What Lifeboat's stack creates in the recovery Region: the state bucket and the bus, plus
    /// a rule that delivers the bus's events to a queue, so a test can read them back.
    /// Returns the queue URL.
    pub async fn recovery_stack(&self, bus: &str) -> String {
        self.s3
            .create_bucket()
            .bucket(self.state_bucket())
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                        RECOVERY,
                    ))
                    .build(),
            )
            .send()
            .await
            .expect("create state bucket");
        self.events
            .create_event_bus()
            .name(bus)
            .send()
            .await
            .expect("create bus");
        let queue = self
            .sqs
            .create_queue()
            .queue_name("lifeboat-events")
            .send()
            .await
            .expect("create queue");
        let queue_url = queue.queue_url().expect("queue URL").to_owned();
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue attributes");
        let queue_arn = attributes
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
            .expect("queue ARN")
            .clone();
        self.events
            .put_rule()
            .name("lifeboat-runs")
            .event_bus_name(bus)
            .event_pattern(r#"{"source": ["lifeboat"]}"#)
            .send()
            .await
            .expect("create rule");
        self.events
            .put_targets()
            .rule("lifeboat-runs")
            .event_bus_name(bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("queue")
                    .arn(queue_arn)
                    .build()
                    .expect("target"),
            )
            .send()
            .await
            .expect("add target");
        queue_url
    }

    /// The events delivered to the queue of [`World::recovery_stack`], parsed.
    pub async fn delivered_events(&self, queue_url: &str) -> Vec<serde_json::Value> {
        let mut events = Vec::new();
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("receive");
            if out.messages().is_empty() {
                return events;
            }
            for message in out.messages() {
                events.push(
                    serde_json::from_str(message.body().unwrap_or("null")).expect("event JSON"),
                );
                self.sqs
                    .delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("delete");
            }
        }
    }

    /// An object of the state bucket as text, if it exists.
    pub async fn state_object(&self, key: &str) -> Option<String> {
        let out = self
            .s3
            .get_object()
            .bucket(self.state_bucket())
            .key(key)
            .send()
            .await
            .ok()?;
        let bytes = out.body.collect().await.ok()?.into_bytes();
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }
}
