//! Waiting for the process to be asked to stop, written once for the
//! headless site and the UI.

/// What a hang-up (SIGHUP) means to the waiter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hangup {
    /// The terminal went away: stop (the UI).
    Stops,
    /// Not listened for: the default action, or `nohup`'s ignore, applies
    /// (a headless site).
    NotHandled,
}

/// Completes when the process is asked to stop: SIGTERM, SIGINT (from
/// outside: in the UI's raw mode Ctrl-C is a key), and SIGHUP when
/// `hangup` says so. Off Unix: Ctrl-C.
pub async fn stop_requested(hangup: Hangup) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut kinds = vec![SignalKind::terminate(), SignalKind::interrupt()];
        if hangup == Hangup::Stops {
            kinds.push(SignalKind::hangup());
        }
        let mut streams: Vec<_> = kinds.into_iter().filter_map(|k| signal(k).ok()).collect();
        if streams.is_empty() {
            return std::future::pending().await;
        }
        let waits = streams.iter_mut().map(|s| Box::pin(s.recv()));
        futures::future::select_all(waits).await;
    }
    #[cfg(not(unix))]
    {
        let _ = hangup;
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
