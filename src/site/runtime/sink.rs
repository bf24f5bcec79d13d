//! Where a site's events go: the recording, the UI, both or neither; and
//! the transport's observer that feeds them (and the bench's probe).

use super::*;
use crate::site::probe::Probe;

/// Where a site's events go: the recording, the UI, both or neither.
#[derive(Clone, Debug)]
pub(super) struct Sink {
    pub(super) me: SiteId,
    pub(super) recorder: Option<Recorder>,
    pub(super) events: Option<mpsc::UnboundedSender<SiteEvent>>,
}

impl Sink {
    pub(super) fn active(&self) -> bool {
        self.recorder.is_some() || self.events.is_some()
    }

    /// Records `what` as happening now at this site.
    pub(super) fn see(&self, what: What) {
        let ev = record::Event {
            t: record::now_ms(),
            site: self.me,
            what,
        };
        if let Some(r) = &self.recorder {
            r.record(&ev);
        }
        if let Some(tx) = &self.events {
            let _ = tx.send(SiteEvent::Seen(ev));
        }
    }

    /// The core's events; the recording's `decided` events carry the value
    /// in full.
    pub(super) fn see_trace(&self, trace: &[TraceEvent], committed: &[(Slot, Value)]) {
        if !self.active() {
            return;
        }
        let full = if self.recorder.is_some() {
            committed
        } else {
            &[]
        };
        for what in trace.iter().filter_map(What::from_trace) {
            self.see(what.with_full(full));
        }
    }

    /// Has the transport tell the sink and the probe about each message
    /// (when either listens).
    pub(super) fn observe(&self, net: &NetHandle, probe: &Probe) {
        if !self.active() && !probe.is_on() {
            return;
        }
        let (sink, probe) = (self.clone(), probe.clone());
        net.observe(Arc::new(move |ev: NetEvent<'_>| {
            probe.net(sink.me, &ev);
            if sink.active() {
                sink.see(What::from_net(ev));
            }
        }));
    }
}
