//! The demo's link matrix: which direction of which link is down, and each
//! site's loss and delay, as the user sets them in the link popup
//! (`panes/links.rs`). The UI owns the model; the demo turns it into the
//! sites' network filters ([`Links::filters`]); `demo --step` keeps each
//! change as a step and turns it into the engine's cut links and its
//! network's loss and delay (`demo/step/net.rs`), with the same meaning.
//!
//! The live demo's filter is per site, not per link (SPEC 8: `drop_to`,
//! `drop_from`, one `loss`, one `delay_ms`), so the matrix is honest about
//! it: a cell from site a to site b is up or down (down puts b in a's
//! `drop_to` and a in b's `drop_from`), while loss and delay belong to a
//! site. A site's loss draws on every message it sends and every one it
//! receives; its delay holds back every message it sends. A cell shows
//! what its direction gets from that: the loss of the sender combined with
//! the receiver's, and the sender's delay.

use crate::site::api::FaultSpec;

/// A loss step of the `l`/`L` keys, in percent.
pub const LOSS_STEP: u8 = 10;
/// A delay step of the `d`/`D` keys, in ms.
pub const DELAY_STEP: u64 = 50;
/// The most delay the keys set.
pub const MAX_DELAY: u64 = 2000;

/// Every direction of every link, and each site's loss and delay (also
/// a step of `demo --step`, saved with its run: hence serde).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Links {
    /// `down[a][b]`: messages from a to b are dropped.
    down: Vec<Vec<bool>>,
    /// Each site's loss, in percent (0 to 100).
    loss: Vec<u8>,
    /// Each site's delay on what it sends, in ms.
    delay: Vec<u64>,
}

/// The presets of the link popup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// One link between two followers (the two sites after the leader),
    /// both ways: the cluster goes on as if nothing happened.
    OneLinkDown,
    /// Every link of the leader, both ways.
    LeaderCutOff,
    /// Each site hears only its neighbours (site order: 1–2–3–…).
    Chain,
    /// Every link down but those of one site (the one after the leader):
    /// no majority can talk among themselves; only that hub still reaches
    /// one.
    QuorumLoss,
    /// The leader and the next site cannot hear each other, but each
    /// reaches every other site: each believes the other gone and that it
    /// can lead, and their elections pre-empt each other.
    Duel,
    /// Every link up, no loss, no delay.
    HealAll,
}

impl Preset {
    pub const ALL: [Preset; 6] = [
        Preset::OneLinkDown,
        Preset::LeaderCutOff,
        Preset::Chain,
        Preset::QuorumLoss,
        Preset::Duel,
        Preset::HealAll,
    ];

    /// Its name, for the popup and the trace.
    pub fn name(self) -> &'static str {
        match self {
            Preset::OneLinkDown => "one link down",
            Preset::LeaderCutOff => "the leader cut off",
            Preset::Chain => "a chain",
            Preset::QuorumLoss => "quorum loss",
            Preset::Duel => "two proposers duel",
            Preset::HealAll => "heal all",
        }
    }
}

impl Links {
    /// `n` sites, every link up.
    pub fn new(n: usize) -> Links {
        Links {
            down: vec![vec![false; n]; n],
            loss: vec![0; n],
            delay: vec![0; n],
        }
    }

    /// How many sites.
    pub fn len(&self) -> usize {
        self.down.len()
    }

    pub fn is_empty(&self) -> bool {
        self.down.is_empty()
    }

    /// Are messages from `a` to `b` dropped?
    pub fn is_down(&self, a: usize, b: usize) -> bool {
        a != b && self.down.get(a).and_then(|r| r.get(b)).copied() == Some(true)
    }

    /// Sets the direction from `a` to `b` (a site always reaches itself).
    pub fn set(&mut self, a: usize, b: usize, down: bool) {
        if a != b && a < self.len() && b < self.len() {
            self.down[a][b] = down;
        }
    }

    /// Both directions of the link between `a` and `b`.
    pub fn set_both(&mut self, a: usize, b: usize, down: bool) {
        self.set(a, b, down);
        self.set(b, a, down);
    }

    /// Flips the direction from `a` to `b`.
    pub fn toggle(&mut self, a: usize, b: usize) {
        let d = self.is_down(a, b);
        self.set(a, b, !d);
    }

    /// Site `i`'s loss in percent.
    pub fn loss(&self, i: usize) -> u8 {
        self.loss.get(i).copied().unwrap_or(0)
    }

    /// Site `i`'s delay in ms.
    pub fn delay(&self, i: usize) -> u64 {
        self.delay.get(i).copied().unwrap_or(0)
    }

    /// Site `i`'s loss moved by `steps` × [`LOSS_STEP`], within 0..=100.
    pub fn add_loss(&mut self, i: usize, steps: i32) {
        if let Some(l) = self.loss.get_mut(i) {
            let v = i32::from(*l) + steps * i32::from(LOSS_STEP);
            *l = v.clamp(0, 100) as u8;
        }
    }

    /// Site `i`'s delay moved by `steps` × [`DELAY_STEP`], within
    /// 0..=[`MAX_DELAY`].
    pub fn add_delay(&mut self, i: usize, steps: i64) {
        if let Some(d) = self.delay.get_mut(i) {
            let v = *d as i64 + steps * DELAY_STEP as i64;
            *d = v.clamp(0, MAX_DELAY as i64) as u64;
        }
    }

    /// Site `i`'s loss set to `pct` (at most 100).
    pub fn set_loss(&mut self, i: usize, pct: u8) {
        if let Some(l) = self.loss.get_mut(i) {
            *l = pct.min(100);
        }
    }

    /// Site `i`'s delay set to `ms` (at most [`MAX_DELAY`]).
    pub fn set_delay(&mut self, i: usize, ms: u64) {
        if let Some(d) = self.delay.get_mut(i) {
            *d = ms.min(MAX_DELAY);
        }
    }

    /// Every link of `i` down (or up), both ways: the demo's cut-off.
    pub fn cut_off(&mut self, i: usize, on: bool) {
        for j in 0..self.len() {
            self.set_both(i, j, on);
        }
    }

    /// Is every link of `i` down both ways (and there are others)?
    pub fn isolated(&self, i: usize) -> bool {
        let n = self.len();
        n > 1
            && i < n
            && (0..n)
                .filter(|&j| j != i)
                .all(|j| self.is_down(i, j) && self.is_down(j, i))
    }

    /// The loss in percent a message from `a` to `b` meets: `a`'s on the
    /// way out, then `b`'s on the way in.
    pub fn loss_between(&self, a: usize, b: usize) -> u8 {
        let pass = (100 - u32::from(self.loss(a))) * (100 - u32::from(self.loss(b)));
        (100 - pass.div_ceil(100)) as u8
    }

    /// Is this matrix one of `n` sites all through (a loaded run's may
    /// not be)?
    pub fn fits(&self, n: usize) -> bool {
        self.down.len() == n
            && self.down.iter().all(|r| r.len() == n)
            && self.loss.len() == n
            && self.delay.len() == n
            && self.loss.iter().all(|&l| l <= 100)
    }

    /// Anything set at all?
    pub fn is_clear(&self) -> bool {
        *self == Links::new(self.len())
    }

    /// The links as preset `p` sets them (`leader`: the site that leads,
    /// as the shown site sees it; site 0 if none). Loss and delay stay as
    /// they are but for "heal all".
    pub fn preset(&self, p: Preset, leader: Option<usize>) -> Links {
        let n = self.len();
        let l = leader.filter(|&l| l < n).unwrap_or(0);
        let next = (l + 1) % n.max(1);
        let after = (l + 2) % n.max(1);
        let mut out = Links {
            down: vec![vec![false; n]; n],
            ..self.clone()
        };
        match p {
            Preset::OneLinkDown => out.set_both(next, after, true),
            Preset::LeaderCutOff => out.cut_off(l, true),
            Preset::Chain => {
                for a in 0..n {
                    for b in 0..n {
                        out.set(a, b, a.abs_diff(b) > 1);
                    }
                }
            }
            Preset::QuorumLoss => {
                for a in 0..n {
                    for b in 0..n {
                        out.set(a, b, a != next && b != next);
                    }
                }
            }
            Preset::Duel => out.set_both(l, next, true),
            Preset::HealAll => out = Links::new(n),
        }
        out
    }

    /// Each site's network filter (without the demo's slow motion).
    pub fn filters(&self) -> Vec<FaultSpec> {
        let n = self.len();
        (0..n)
            .map(|i| FaultSpec {
                drop_to: (0..n)
                    .filter(|&j| self.is_down(i, j))
                    .map(|j| j as u32)
                    .collect(),
                drop_from: (0..n)
                    .filter(|&j| self.is_down(j, i))
                    .map(|j| j as u32)
                    .collect(),
                loss: f64::from(self.loss(i)) / 100.0,
                delay_ms: self.delay(i),
            })
            .collect()
    }
}

/// A filter in words, for the trace: `drop →2,3 ←2 · loss 20% · +50ms`
/// (site numbers from 1), or `clear`.
pub fn describe(f: &FaultSpec) -> String {
    if f.is_clear() {
        return "clear".to_string();
    }
    let list = |v: &[u32]| {
        v.iter()
            .map(|s| (s + 1).to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut parts = Vec::new();
    if !f.drop_to.is_empty() || !f.drop_from.is_empty() {
        let mut d = "drop".to_string();
        if !f.drop_to.is_empty() {
            d += &format!(" →{}", list(&f.drop_to));
        }
        if !f.drop_from.is_empty() {
            d += &format!(" ←{}", list(&f.drop_from));
        }
        parts.push(d);
    }
    if f.loss() > 0.0 {
        parts.push(format!("loss {:.0}%", f.loss() * 100.0));
    }
    if f.delay_ms > 0 {
        parts.push(format!("+{}ms", f.delay_ms));
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The directions that are down, as (from, to) pairs.
    fn downs(l: &Links) -> Vec<(usize, usize)> {
        let n = l.len();
        (0..n)
            .flat_map(|a| (0..n).map(move |b| (a, b)))
            .filter(|&(a, b)| l.is_down(a, b))
            .collect()
    }

    fn both(pairs: &[(usize, usize)]) -> Vec<(usize, usize)> {
        let mut v: Vec<_> = pairs.iter().flat_map(|&(a, b)| [(a, b), (b, a)]).collect();
        v.sort();
        v
    }

    #[test]
    fn toggling_a_cell_sets_the_senders_drop_to_and_the_receivers_drop_from() {
        let mut l = Links::new(3);
        l.toggle(0, 2);
        let f = l.filters();
        assert_eq!(
            (f[0].drop_to.clone(), f[0].drop_from.clone()),
            (vec![2], vec![])
        );
        assert_eq!(
            (f[2].drop_to.clone(), f[2].drop_from.clone()),
            (vec![], vec![0])
        );
        assert!(f[1].is_clear());
        // The other direction stays up.
        assert!(l.is_down(0, 2) && !l.is_down(2, 0));
        l.toggle(0, 2);
        assert!(l.filters().iter().all(FaultSpec::is_clear));
        // A site always reaches itself.
        l.toggle(1, 1);
        assert!(l.is_clear());
    }

    #[test]
    fn loss_and_delay_are_the_sites_and_stay_in_range() {
        let mut l = Links::new(3);
        l.add_loss(1, 2);
        l.add_delay(1, 3);
        let f = l.filters();
        assert_eq!((f[1].loss, f[1].delay_ms), (0.2, 150));
        assert!(f[1].drop_to.is_empty() && f[0].is_clear() && f[2].is_clear());
        l.add_loss(1, -5);
        l.add_delay(1, 100);
        assert_eq!((l.loss(1), l.delay(1)), (0, MAX_DELAY));
        l.add_loss(0, 20);
        assert_eq!(l.loss(0), 100);
        // 50% out, then 20% in: 60% of messages lost.
        let mut m = Links::new(2);
        m.add_loss(0, 5);
        m.add_loss(1, 2);
        assert_eq!(m.loss_between(0, 1), 60);
        assert_eq!(describe(&m.filters()[0]), "loss 50%");
    }

    #[test]
    fn the_cut_off_is_every_link_of_a_site_both_ways() {
        let mut l = Links::new(3);
        l.cut_off(1, true);
        assert!(l.isolated(1) && !l.isolated(0));
        assert_eq!(downs(&l), both(&[(1, 0), (1, 2)]));
        let f = l.filters();
        assert_eq!(
            (f[1].drop_to.clone(), f[1].drop_from.clone()),
            (vec![0, 2], vec![0, 2])
        );
        assert_eq!(describe(&f[1]), "drop →1,3 ←1,3");
        l.cut_off(1, false);
        assert!(l.is_clear());
    }

    #[test]
    fn each_preset_yields_its_links() {
        let mut base = Links::new(5);
        base.add_loss(4, 1);
        let leader = Some(2);
        let p = |p| base.preset(p, leader);
        assert_eq!(downs(&p(Preset::OneLinkDown)), both(&[(3, 4)]));
        assert_eq!(
            downs(&p(Preset::LeaderCutOff)),
            both(&[(2, 0), (2, 1), (2, 3), (2, 4)])
        );
        assert!(p(Preset::LeaderCutOff).isolated(2));
        // A chain: 1–2–3–4–5, each hears its neighbours only.
        let chain = p(Preset::Chain);
        for a in 0..5 {
            for b in 0..5 {
                assert_eq!(chain.is_down(a, b), a.abs_diff(b) > 1, "{a}→{b}");
            }
        }
        // Quorum loss: only the hub (the site after the leader) talks.
        let q = p(Preset::QuorumLoss);
        for a in 0..5 {
            for b in 0..5 {
                assert_eq!(q.is_down(a, b), a != b && a != 3 && b != 3, "{a}→{b}");
            }
        }
        // The duel: the leader and the next cannot hear each other, each
        // still reaches a majority (itself and the three others).
        let d = p(Preset::Duel);
        assert_eq!(downs(&d), both(&[(2, 3)]));
        for s in [2, 3] {
            let reach = (0..5).filter(|&o| o == s || !d.is_down(s, o)).count();
            assert!(reach >= 3);
        }
        // Presets keep loss and delay; heal all clears everything.
        assert_eq!(p(Preset::Chain).loss(4), 10);
        assert!(p(Preset::HealAll).is_clear());
        // No leader known: site 1 counts as the leader.
        assert_eq!(downs(&base.preset(Preset::Duel, None)), both(&[(0, 1)]));
        // One site: nothing to cut, nothing panics.
        for pr in Preset::ALL {
            assert!(Links::new(1).preset(pr, None).is_clear());
        }
    }
}
