//! Layer 2, the API gateway: hs-srvd serves `/api/{module}/{action}` as JSON on the
//! admin port (2086) and the user port (2082), plus the web UI.
//!
//! Invariants:
//! - this crate alone knows HTTP; modules return typed results and errors;
//! - every request gets an operation id, echoed in `X-Operation-Id`, in error
//!   bodies and in log lines;
//! - credentials are checked on every request, and a credential is bound to the
//!   port it was issued for: admin actions do not exist on the user port;
//! - module code runs on blocking threads, never on the async workers.

pub mod api;
pub mod app;
pub mod error;
pub mod openapi;
pub mod registry;
pub mod server;

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use hs_auth::{Authenticator, Portal};
use hs_config::{Layout, PanelConfig};

pub use app::App;

/// Builds the panel for `layout`: config, pipeline, authenticator.
pub fn open(layout: Layout) -> anyhow::Result<App> {
    let config = PanelConfig::read(&layout.panel_config()).context("reading hspanel.yaml")?;
    let pipeline = hs_services::pipeline(&layout, &config);
    let auth = Authenticator::open(&layout.auth_dir(), config.api.token_ttl_secs)
        .context("opening the authentication store")?;
    let panel = hs_modules::Panel::new(layout, config, pipeline);
    Ok(App::new(panel, auth))
}

/// Recovers unfinished operations, then serves both ports until `shutdown` fires.
pub async fn serve(
    app: App,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let recovered = {
        let panel = app.panel.clone();
        tokio::task::spawn_blocking(move || hs_modules::account::recover(&panel)).await??
    };
    if recovered > 0 {
        tracing::warn!(recovered, "finished or undid operations a crash interrupted");
    }
    // Plugins: load and report; a broken one is skipped and never stops the start.
    let plugins = {
        let panel = app.panel.clone();
        tokio::task::spawn_blocking(move || hs_modules::plugins::prepare(&panel)).await?
    };
    tracing::info!(plugins, "plugins loaded");

    let config = &app.panel.config.api;
    let admin = bind(config.admin_listen).await?;
    let user = bind(config.user_listen).await?;
    tracing::info!(admin = %config.admin_listen, user = %config.user_listen, "hs-srvd listening");

    spawn_sweeper(app.clone());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });

    let serve_port = |listener: tokio::net::TcpListener, portal: Portal| {
        let router = server::router(app.clone(), portal);
        let mut stop = stop_rx.clone();
        async move {
            axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await
        }
    };
    tokio::try_join!(serve_port(admin, Portal::Admin), serve_port(user, Portal::User))?;
    Ok(())
}

async fn bind(addr: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))
}

/// Drops expired sessions and stale throttle entries every few minutes.
fn spawn_sweeper(app: App) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(300));
        loop {
            tick.tick().await;
            app.logins.sweep();
            app.requests.sweep();
            let auth = app.auth.clone();
            let _ = tokio::task::spawn_blocking(move || auth.sweep_expired()).await;
        }
    });
}
