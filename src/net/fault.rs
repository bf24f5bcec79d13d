//! The network filter of a site (the `fault` control command, SPEC section 8),
//! applied by the transport in both directions.

use crate::paxos::SiteId;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What the transport does to messages, for demos and tests. The default
/// (and `{}` on the control endpoint) is no fault at all.
///
/// The control protocol's `fault` body (`site::api::FaultSpec`) is this type.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Fault {
    /// Messages to these sites are dropped.
    pub drop_to: Vec<SiteId>,
    /// Messages from these sites are dropped.
    pub drop_from: Vec<SiteId>,
    /// Probability of dropping any message, both ways (clamped to 0..=1).
    pub loss: f64,
    /// Delay added to every message sent.
    pub delay_ms: u64,
}

impl Fault {
    /// No fault: every message goes through at once.
    pub fn is_clear(&self) -> bool {
        self.drop_to.is_empty()
            && self.drop_from.is_empty()
            && self.loss() == 0.0
            && self.delay_ms == 0
    }

    /// The loss probability, clamped to `0.0..=1.0` (NaN counts as 0).
    pub fn loss(&self) -> f64 {
        if self.loss.is_nan() {
            0.0
        } else {
            self.loss.clamp(0.0, 1.0)
        }
    }

    /// The delay added to every message sent, capped at [`Fault::MAX_DELAY`].
    pub fn delay(&self) -> Duration {
        Duration::from_millis(self.delay_ms).min(Self::MAX_DELAY)
    }

    /// The longest delay applied (a larger `delay_ms` counts as this).
    pub const MAX_DELAY: Duration = Duration::from_secs(3600);

    /// Whether a message to `to` is to be dropped (draws the random loss).
    pub fn drops_outgoing(&self, to: SiteId) -> bool {
        self.drop_to.contains(&to) || self.lost()
    }

    /// Whether a message from `from` is to be dropped (draws the random loss).
    pub fn drops_incoming(&self, from: SiteId) -> bool {
        self.drop_from.contains(&from) || self.lost()
    }

    fn lost(&self) -> bool {
        let p = self.loss();
        p >= 1.0 || (p > 0.0 && rand::random::<f64>() < p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_clear_and_json_matches_the_control_protocol() {
        assert!(Fault::default().is_clear());
        let f: Fault = serde_json::from_str("{}").unwrap();
        assert!(f.is_clear());
        let f: Fault = serde_json::from_str(
            r#"{"drop_to": [1, 2], "drop_from": [3], "loss": 0.5, "delay_ms": 20}"#,
        )
        .unwrap();
        assert_eq!(f.drop_to, vec![1, 2]);
        assert_eq!(f.drop_from, vec![3]);
        assert_eq!(f.delay(), Duration::from_millis(20));
        assert!(!f.is_clear());
        assert!(serde_json::from_str::<Fault>(r#"{"lose": 1}"#).is_err());
        let forever = Fault {
            delay_ms: u64::MAX,
            ..Fault::default()
        };
        assert_eq!(forever.delay(), Fault::MAX_DELAY);
    }

    #[test]
    fn filters() {
        let f = Fault {
            drop_to: vec![1],
            drop_from: vec![2],
            ..Fault::default()
        };
        assert!(f.drops_outgoing(1));
        assert!(!f.drops_outgoing(2));
        assert!(f.drops_incoming(2));
        assert!(!f.drops_incoming(1));

        let all = Fault {
            loss: 1.0,
            ..Fault::default()
        };
        assert!(all.drops_outgoing(0) && all.drops_incoming(0));
        let over = Fault {
            loss: 7.0,
            ..Fault::default()
        };
        assert_eq!(over.loss(), 1.0);
        let nan = Fault {
            loss: f64::NAN,
            ..Fault::default()
        };
        assert!(nan.is_clear() && !nan.drops_outgoing(0));
        let none = Fault {
            loss: -1.0,
            ..Fault::default()
        };
        assert!((0..100).all(|_| !none.drops_outgoing(0)));
        let half = Fault {
            loss: 0.5,
            ..Fault::default()
        };
        let dropped = (0..1000).filter(|_| half.drops_outgoing(0)).count();
        assert!((300..700).contains(&dropped), "{dropped}");
    }
}
