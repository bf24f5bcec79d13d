//! The safety checker: it only sees what sites report, so it also works as
//! a unit under test (the `checker_*` tests).

use super::*;

/// The safety checker. It only sees what sites report, so it also works as
/// a unit under test (see `checker_*` tests below).
#[derive(Default)]
pub(crate) struct Checker {
    /// The value each slot was first decided with, anywhere.
    pub(crate) chosen: BTreeMap<Slot, Value>,
    /// Where each operation was decided.
    pub(crate) decided_in: HashMap<OpId, Slot>,
    /// Every operation ever submitted.
    pub(crate) submitted: HashMap<OpId, Op>,
    /// Operations reported done, with their slot.
    pub(crate) done: HashMap<OpId, Slot>,
}

/// Operations the log holds and which of them were tweets: a copy of an
/// operation in a later slot takes no effect (see `AppliedOps`).
pub(crate) fn distinct_tweets(log: &[Value]) -> usize {
    let mut seen = std::collections::HashSet::new();
    log.iter()
        .flat_map(|v| &v.cmds)
        .filter(|c| matches!(c.op, Op::Tweet { .. }))
        .filter(|c| seen.insert(c.id))
        .count()
}

impl Checker {
    pub(crate) fn submitted(&mut self, cmd: &Command) {
        self.submitted.insert(cmd.id, cmd.op.clone());
    }

    /// A site decided `slot` (beyond its prefix or not).
    pub(crate) fn decided(
        &mut self,
        site: SiteId,
        slot: Slot,
        value: &Value,
    ) -> Result<(), String> {
        if let Some(first) = self.chosen.get(&slot) {
            if first != value {
                return Err(format!(
                    "agreement: site {site} decided slot {slot} = {:?}, another site {:?}",
                    value.summary(),
                    first.summary()
                ));
            }
            return Ok(());
        }
        for cmd in &value.cmds {
            match self.submitted.get(&cmd.id) {
                Some(op) if *op == cmd.op => {}
                Some(_) => {
                    return Err(format!(
                        "validity: slot {slot} holds {} with an altered op",
                        cmd.id
                    ))
                }
                None => {
                    return Err(format!(
                        "validity: slot {slot} holds {} that nobody submitted",
                        cmd.id
                    ))
                }
            }
            // A copy in another slot is allowed (applying skips it); the
            // first slot is where the operation takes effect.
            let first = self.decided_in.entry(cmd.id).or_insert(slot);
            *first = (*first).min(slot);
        }
        self.chosen.insert(slot, value.clone());
        Ok(())
    }

    /// A site reported a submission done in `slot` at `index`, after applying
    /// slots up to `applied` (exclusive).
    pub(crate) fn completed(
        &mut self,
        id: OpId,
        slot: Slot,
        index: usize,
        applied: Slot,
    ) -> Result<(), String> {
        let Some(value) = self.chosen.get(&slot) else {
            return Err(format!(
                "durability: {id} reported done in slot {slot}, which is not decided"
            ));
        };
        if value.cmds.get(index).map(|c| c.id) != Some(id) {
            return Err(format!(
                "exactly-once: {id} reported done in slot {slot} index {index}, but the slot holds {:?}",
                value.summary()
            ));
        }
        if applied <= slot {
            return Err(format!(
                "apply order: {id} reported done before slot {slot} was applied"
            ));
        }
        // Every slot below `slot` is applied and so chosen: the first copy
        // is known, and the answer must name it.
        if let Some(&first) = self.decided_in.get(&id).filter(|&&f| f != slot) {
            return Err(format!(
                "exactly-once: {id} reported done in slot {slot}, but it took effect in slot {first}"
            ));
        }
        if self.done.insert(id, slot).is_some() {
            return Err(format!("exactly-once: {id} reported done twice"));
        }
        Ok(())
    }

    /// The applied log of a site must be a prefix of what was chosen, and
    /// hold every operation reported done below its length.
    pub(crate) fn applied_log(&self, site: SiteId, log: &[Value]) -> Result<(), String> {
        for (slot, value) in log.iter().enumerate() {
            let slot = slot as Slot;
            if self.chosen.get(&slot) != Some(value) {
                return Err(format!(
                    "durability: site {site} holds slot {slot} that differs from the chosen value"
                ));
            }
        }
        for (id, slot) in &self.done {
            if (*slot as usize) < log.len() && !log[*slot as usize].contains(*id) {
                return Err(format!(
                    "durability: {id} reported done in slot {slot} is gone at site {site}"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(site: SiteId, seq: u64, text: &str) -> Command {
        Command {
            id: OpId { site, boot: 1, seq },
            op: Op::Tweet {
                user: format!("u{site}"),
                text: text.to_string(),
                time: chrono::DateTime::from_timestamp_millis(0).unwrap_or_default(),
            },
        }
    }

    #[test]
    fn checker_catches_two_values_for_one_slot() {
        let mut c = Checker::default();
        let (a, b) = (cmd(0, 1, "a"), cmd(1, 1, "b"));
        c.submitted(&a);
        c.submitted(&b);
        c.decided(0, 0, &Value::batch(vec![a])).expect("first");
        let e = c
            .decided(1, 0, &Value::batch(vec![b]))
            .expect_err("agreement");
        assert!(e.contains("agreement"), "{e}");
    }

    #[test]
    fn checker_catches_success_reported_for_a_copy() {
        // An operation may reach the log twice (applying skips the copy); its
        // answer must name the first slot, where it took effect.
        let mut c = Checker::default();
        let a = cmd(0, 1, "a");
        c.submitted(&a);
        c.decided(0, 0, &Value::batch(vec![a.clone()]))
            .expect("first");
        c.decided(0, 3, &Value::batch(vec![a.clone()]))
            .expect("a copy is allowed");
        let e = c.completed(a.id, 3, 0, 4).expect_err("names the copy");
        assert!(e.contains("exactly-once"), "{e}");
        c.completed(a.id, 0, 0, 4).expect("names the first");
    }

    #[test]
    fn checker_catches_success_reported_for_a_lost_slot() {
        // The original program's bug: another site's value won the slot, and
        // the loser still reported success.
        let mut c = Checker::default();
        let (a, b) = (cmd(0, 1, "mine"), cmd(1, 1, "theirs"));
        c.submitted(&a);
        c.submitted(&b);
        c.decided(1, 0, &Value::batch(vec![b])).expect("theirs won");
        let e = c.completed(a.id, 0, 0, 1).expect_err("lost slot");
        assert!(e.contains("exactly-once"), "{e}");
    }

    #[test]
    fn checker_catches_done_before_applied_and_invented_values() {
        let mut c = Checker::default();
        let a = cmd(0, 1, "a");
        let e = c
            .decided(0, 0, &Value::batch(vec![a.clone()]))
            .expect_err("invented");
        assert!(e.contains("validity"), "{e}");
        c.submitted(&a);
        c.decided(0, 0, &Value::batch(vec![a.clone()]))
            .expect("decided");
        let e = c.completed(a.id, 0, 0, 0).expect_err("not applied yet");
        assert!(e.contains("apply order"), "{e}");
    }
}
