//! Logs and traces: `tracing` with an env filter (default `info`), compact or JSON output
//! (`LOG_FORMAT=json`), and OpenTelemetry export over OTLP/HTTP only when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::{propagation::TraceContextPropagator, trace::SdkTracerProvider, Resource};
use tracing_subscriber::{
    fmt::MakeWriter, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter, Layer,
};

/// How a process reports.
#[derive(Debug, Clone, Default)]
pub struct TelemetryConfig {
    /// JSON lines instead of compact text.
    pub json_logs: bool,
    /// OTLP/HTTP collector base URL (e.g. `http://otel-collector:4318`).
    pub otlp_endpoint: Option<String>,
}

/// Flushes pending spans when dropped.
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            if let Err(e) = provider.shutdown() {
                tracing::warn!(error = %e, "could not flush traces");
            }
        }
    }
}

/// An OpenTelemetry provider exporting to the OTLP endpoint.
fn otlp_provider(service: &str, endpoint: &str) -> Option<SdkTracerProvider> {
    use opentelemetry_otlp::WithExportConfig;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
        .build()
        .ok()?;
    Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(
                Resource::builder()
                    .with_service_name(service.to_owned())
                    .build(),
            )
            .build(),
    )
}

/// Installs the global subscriber for `service`, writing logs to `writer`.
pub fn init<W>(service: &str, config: &TelemetryConfig, writer: W) -> TelemetryGuard
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let provider = config
        .otlp_endpoint
        .as_deref()
        .filter(|e| !e.is_empty())
        .and_then(|endpoint| otlp_provider(service, endpoint));
    init_with_provider(service, config.json_logs, writer, provider)
}

/// Like [`init`], with a caller-built tracer provider (tests use an in-memory exporter).
pub fn init_with_provider<W>(
    service: &str,
    json_logs: bool,
    writer: W,
    provider: Option<SdkTracerProvider>,
) -> TelemetryGuard
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = if json_logs {
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(writer)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .compact()
            .with_writer(writer)
            .boxed()
    };
    let otel = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer(service.to_owned())));
    // A second init in the same process (tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init();
    TelemetryGuard { provider }
}

/// The telemetry flags every binary takes.
#[derive(Debug, Clone, clap::Args)]
pub struct TelemetryArgs {
    /// `json` for JSON lines, anything else for compact text.
    #[arg(long, env = "LOG_FORMAT", default_value = "compact")]
    pub log_format: String,
    /// OTLP/HTTP endpoint; traces are exported only when set.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otel_exporter_otlp_endpoint: Option<String>,
}

impl From<TelemetryArgs> for TelemetryConfig {
    fn from(args: TelemetryArgs) -> Self {
        Self {
            json_logs: args.log_format.eq_ignore_ascii_case("json"),
            otlp_endpoint: args.otel_exporter_otlp_endpoint,
        }
    }
}
