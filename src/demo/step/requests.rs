//! The UI's requests to a site, answered from the engine as the site's
//! runtime would: a tweet, block or unblock is a submission (a choice, so
//! that undo and replay make it again) answered once it is decided.

use super::{Choice, Stepper};
use crate::paxos::{DecidedEntry, SiteId, Slot};
use crate::site::api::{no_tweet_at, Answer, Refusal, Reply, Request, LOG_PAGE};
use crate::state::op::Op;
use crate::state::rules;
use crate::ui::Msg;

impl Stepper {
    /// A request of the UI to site `site`; its answer comes with `tag`
    /// (now, or once the submission is decided).
    pub(super) fn request(&mut self, site: usize, tag: u64, req: Request) {
        let i = site as SiteId;
        if site >= self.names.len() || !self.engine.is_up(i) {
            let reply = Err(Refusal::unavailable("the site is not running"));
            return self.out.push(Msg::Reply { tag, reply });
        }
        let user = self.names[site].clone();
        let state = &self.engine.site(i).state;
        let op = match req {
            Request::Tweet(text) => rules::check_tweet(&text).map(|text| Op::Tweet {
                user,
                text,
                time: self.time(),
            }),
            Request::Block(target) => state
                .check_block(&user, &target)
                .map(|()| Op::Block { user, target }),
            Request::Unblock(target) => state
                .check_unblock(&user, &target)
                .map(|()| Op::Unblock { user, target }),
            other => {
                let reply = self.answer_now(i, &user, other);
                return self.out.push(Msg::Reply { tag, reply });
            }
        };
        match op {
            Ok(op) => {
                self.next_tag = Some(tag);
                self.choose(Choice::Submit { site: i, op });
                if let Some(tag) = self.next_tag.take() {
                    let reply = Err(Refusal::unavailable("the site is not running"));
                    self.out.push(Msg::Reply { tag, reply });
                }
            }
            Err(e) => {
                let reply = Err(Refusal::refused(e.to_string()));
                self.out.push(Msg::Reply { tag, reply });
            }
        }
    }

    /// The requests answered at once, from what the site holds.
    fn answer_now(&self, site: SiteId, user: &str, req: Request) -> Reply {
        let state = &self.engine.site(site).state;
        match req {
            Request::View(None) => Ok(Answer::View(state.timeline(user).collect())),
            Request::View(Some(page)) => {
                // A small in-memory history: the tweet `after` names is
                // looked for among all of them.
                let after = match page.after {
                    None => None,
                    Some((slot, index)) => Some(
                        state
                            .all_tweets()
                            .find(|t| t.slot == slot && t.index == index)
                            .map(|t| t.key())
                            .ok_or_else(|| no_tweet_at(slot, index))?,
                    ),
                };
                Ok(Answer::View(state.timeline_page(user, after, page.limit)))
            }
            Request::Blocked => Ok(Answer::Blocked(state.blocked_by(user))),
            Request::Status => Ok(Answer::Status(self.status_of(site))),
            Request::Log { from, to } => Ok(Answer::Log(self.log(site, from, to))),
            Request::Fault(_) => Err(Refusal::bad_request(
                "demo --step has no network filter: c cuts a site off, Del drops a message",
            )),
            Request::Tweet(_) | Request::Block(_) | Request::Unblock(_) => {
                Err(Refusal::internal("a submission is not answered at once"))
            }
        }
    }

    /// One page of the decided log of `site`: the archive, then the slots
    /// decided beyond its applied prefix that its core holds.
    fn log(&self, site: SiteId, from: Option<Slot>, to: Option<Slot>) -> Vec<DecidedEntry> {
        let from = from.unwrap_or(0);
        let to = to.unwrap_or(Slot::MAX).min(from.saturating_add(LOG_PAGE));
        let archive = &self.engine.site(site).disk.archive;
        let mut out: Vec<DecidedEntry> = (from..to.min(archive.len() as Slot))
            .map(|slot| DecidedEntry {
                slot,
                value: archive[slot as usize].clone(),
            })
            .collect();
        if let Some(core) = self.engine.core(site) {
            let applied = archive.len() as Slot;
            let end = core.max_known_decided().map_or(0, |m| m.saturating_add(1));
            out.extend((from.max(applied)..to.min(end)).filter_map(|slot| {
                let value = core.decided_value(slot)?.clone();
                Some(DecidedEntry { slot, value })
            }));
        }
        out
    }
}
