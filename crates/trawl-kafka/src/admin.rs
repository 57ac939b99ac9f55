//! Topic creation, for tests and for deployments that do not let brokers create topics.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::FromClientConfig;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::ClientConfig;
use trawl_stream::StreamError;

/// Creates `topics` (name, partitions) with replication factor 1 unless
/// `replication` says otherwise; topics that exist already are left as they are.
pub async fn create_topics(
    brokers: &str,
    topics: &[(&str, i32)],
    replication: i32,
) -> Result<(), StreamError> {
    let admin: AdminClient<DefaultClientContext> =
        AdminClient::from_config(ClientConfig::new().set("bootstrap.servers", brokers))
            .map_err(|e| StreamError::Fatal(format!("kafka admin: {e}")))?;
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|(name, partitions)| {
            NewTopic::new(name, *partitions, TopicReplication::Fixed(replication))
        })
        .collect();
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = admin
        .create_topics(&new, &opts)
        .await
        .map_err(|e| StreamError::Service {
            service: "kafka admin".into(),
            message: e.to_string(),
        })?;
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(StreamError::Service {
                    service: "kafka admin".into(),
                    message: format!("create topic {topic}: {code}"),
                })
            }
        }
    }
    Ok(())
}
