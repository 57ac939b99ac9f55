//! The enrichment transform: trawl-enrich's scores, host attribution and intel, applied to
//! pipeline events.

use std::sync::Mutex;

use async_trait::async_trait;
use trawl_enrich::Enricher;
use trawl_stream::{Event, Projection, Transform};
use trawl_zeek::Record;

/// Fields scoring and host attribution read; a raw TSV row is parsed for these only.
/// With intel on, whole records are used (intel looks at many more fields).
const READ: &[&str] = &[
    "ts",
    "query",
    "id.orig_h",
    "client_addr",
    "assigned_addr",
    "assigned_ip",
    "requested_addr",
    "mac",
    "host_name",
    "dhcp_host_name",
    "lease_time",
    "msg_types",
];

/// Scores, attribution and intel as a pipeline step.
pub struct Enrich {
    inner: Mutex<(Enricher, Projection)>,
    whole_records: bool,
}

impl Enrich {
    /// Wraps an enricher; `intel` says whether it matches intel (which reads whole records).
    pub fn new(enricher: Enricher, intel: bool) -> Self {
        Enrich {
            inner: Mutex::new((enricher, Projection::new(READ))),
            whole_records: intel,
        }
    }

    fn run(&self, events: &mut [Event]) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (enricher, projection) = &mut *inner;
        let records: Vec<Record<'static>> = events
            .iter()
            .map(|e| {
                if self.whole_records {
                    e.to_record()
                } else {
                    e.project_with(projection)
                }
            })
            .collect();
        for (event, extra) in events.iter_mut().zip(enricher.enrich_batch(&records)) {
            event.extra.extend(extra);
        }
    }
}

#[async_trait]
impl Transform for Enrich {
    fn name(&self) -> &str {
        "enrich"
    }

    async fn apply(&self, events: &mut [Event]) {
        // Scoring is CPU work and a Redis cache answers synchronously: keep the runtime free.
        tokio::task::block_in_place(|| self.run(events));
    }

    async fn committed(&self) {
        tokio::task::block_in_place(|| {
            let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = inner.0.save() {
                tracing::warn!(error = %e, "could not save host attribution state");
            }
        });
    }
}
