//! Control requests (SPEC 8): a submission handed to the core, the rules
//! of SPEC 4 checked first; reads answered from the state, or off the loop
//! (`view`, `log`: see `log.rs`); faults for the demo.

use super::*;

impl Runtime {
    pub(super) fn submit(&mut self, op: Op, reply: oneshot::Sender<Reply>, out: &mut Output) {
        self.seq += 1;
        let id = OpId {
            site: self.me,
            boot: self.boot,
            seq: self.seq,
        };
        self.waiting.insert(id, reply);
        out.append(
            self.core
                .step(self.now(), Input::Submit(Command { id, op })),
        );
    }

    pub(super) async fn handle_request(
        &mut self,
        req: Request,
        reply: oneshot::Sender<Reply>,
        out: &mut Output,
    ) -> anyhow::Result<()> {
        let user = self.name.clone();
        let answer = match req {
            Request::Tweet(text) => match rules::check_tweet(&text) {
                Ok(text) => {
                    let op = Op::Tweet {
                        user,
                        text,
                        // To the millisecond, as `log` and `view` show it: the
                        // timeline's order (SPEC 4: by time, ties later in the
                        // log first) is then the one a reader can check.
                        time: now_millis(),
                    };
                    self.submit(op, reply, out);
                    return Ok(());
                }
                Err(e) => Err(Refusal::with(e.stat(), e.to_string())),
            },
            Request::Block(target) => match self.state.check_block(&user, &target) {
                Ok(()) => {
                    self.submit(Op::Block { user, target }, reply, out);
                    return Ok(());
                }
                Err(e) => Err(Refusal::with(e.stat(), e.to_string())),
            },
            Request::Unblock(target) => match self.state.check_unblock(&user, &target) {
                Ok(()) => {
                    self.submit(Op::Unblock { user, target }, reply, out);
                    return Ok(());
                }
                Err(e) => Err(Refusal::with(e.stat(), e.to_string())),
            },
            Request::View(page) => {
                self.serve_view(user, page, reply);
                return Ok(());
            }
            Request::Blocked => Ok(Answer::Blocked(self.state.blocked_by(&user))),
            Request::Status => Ok(Answer::Status(self.status())),
            Request::Fault(spec) => {
                self.set_fault(spec);
                Ok(Answer::FaultSet)
            }
            Request::Log { from, to } => {
                self.serve_log(from.unwrap_or(0), to, reply);
                return Ok(());
            }
        };
        let _ = reply.send(answer);
        Ok(())
    }

    fn set_fault(&mut self, spec: FaultSpec) {
        if self.sink.active() {
            self.sink.see(What::Fault {
                fault: spec.clone(),
            });
        }
        self.net.set_fault(spec);
    }
}

/// Now, to the millisecond.
fn now_millis() -> chrono::DateTime<chrono::Utc> {
    let now = chrono::Utc::now();
    chrono::DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}
