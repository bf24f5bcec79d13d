//! `demo --step`'s side of the App: the step keys, the in-flight pane's
//! selection, the view of the stepped cluster after every step, and an
//! undo's reset (the run's events then arrive again, from its start).

use super::{App, Effect, SiteModel};
use crate::ui::cluster::{DemoCmd, SafetyCheck};
use crate::ui::panes::inflight::{self, InFlightView};
use crate::ui::panes::{Ask, Level};
use crate::ui::seen::{Diagram, Grid};
use crate::ui::step::{StepCmd, StepKey, StepView, SPEEDS};

/// What the App knows of the stepped cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stepped {
    pub view: StepView,
    /// The in-flight pane's selection.
    pub sel: InFlightView,
}

impl App {
    /// The cluster after a step: the first one puts the App in step mode.
    pub(super) fn on_step_view(&mut self, view: StepView) {
        let entering = self.step.is_none();
        let st = self.step.get_or_insert_with(Stepped::default);
        st.view = view;
        st.sel.follow(&st.view.queue);
        if entering {
            self.keep_selection_visible();
        }
    }

    /// An undo: the run starts again from its seed. Every site's data goes
    /// (its events follow again); what the user set up stays: the focus,
    /// the trace's filters and scroll, the selections.
    pub(super) fn on_reset(&mut self) {
        for m in &mut self.sites {
            let fresh = SiteModel::new(m.index, m.name.clone(), m.hosted);
            *m = SiteModel {
                tview: m.tview,
                block_sel: m.block_sel,
                ..fresh
            };
        }
        self.diagram = Diagram::default();
        self.grid = Grid::new(self.sites.len());
        self.safety = Some(SafetyCheck::default());
        self.chatter = false;
        // The run's link changes follow again, as steps.
        self.links = crate::ui::links::Links::new(self.sites.len());
        self.links_done = self.links.clone();
        // The row selected stays selected: after an undo, the message the
        // step took out is back there.
        if let Some(st) = &mut self.step {
            st.sel.id = None;
        }
    }

    /// A step key (on a pane).
    pub(super) fn on_step_key(&mut self, key: StepKey, fx: &mut Vec<Effect>) {
        let Some(st) = &self.step else {
            return;
        };
        let speed = st.view.speed;
        let cmd = match key {
            StepKey::PlayPause => StepCmd::Play(!st.view.playing),
            StepKey::Slower | StepKey::Faster => {
                let to = match key {
                    StepKey::Slower => speed.saturating_sub(1),
                    _ => (speed + 1).min(SPEEDS.len() - 1),
                };
                self.say(Level::Info, format!("speed {}× real time", SPEEDS[to]));
                StepCmd::Speed(to)
            }
            StepKey::NextTimer => StepCmd::NextTimer(self.shown),
            StepKey::UntilDecision => StepCmd::UntilDecision,
            StepKey::Undo => StepCmd::Undo,
        };
        fx.push(Effect::Demo(DemoCmd::Step(cmd)));
    }

    /// A key of the in-flight pane.
    pub(super) fn inflight_key(&mut self, a: inflight::Action) -> Ask {
        match &mut self.step {
            Some(st) => inflight::apply(a, &st.view.queue, &mut st.sel),
            None => Ask::Nothing,
        }
    }

    /// The mouse wheel over the in-flight pane.
    pub(super) fn inflight_wheel(&mut self, delta: isize) {
        if let Some(st) = &mut self.step {
            let a = inflight::Action::Move(delta.signum());
            inflight::apply(a, &st.view.queue, &mut st.sel);
        }
    }

    /// The selection of the in-flight pane.
    pub fn inflight_view(&self) -> Option<(&StepView, &InFlightView)> {
        self.step.as_ref().map(|s| (&s.view, &s.sel))
    }
}
