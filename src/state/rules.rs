//! The rules of SPEC section 4, checked when an operation is submitted
//! (never when a decided slot is applied).

use super::State;
use thiserror::Error;

/// The longest tweet, in characters (Unicode scalar values), after trimming.
pub const MAX_TWEET_CHARS: usize = 280;

/// Why an operation is refused; [`RuleError::stat`] is the control
/// protocol's code for it (SPEC 8: 400 or 409).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum RuleError {
    #[error("a tweet is 1 to {MAX_TWEET_CHARS} characters, this one is empty")]
    EmptyTweet,
    #[error("a tweet is 1 to {MAX_TWEET_CHARS} characters, this one is {chars}")]
    TweetTooLong { chars: usize },
    #[error("a tweet cannot contain {what} (character {position}); write it on one line without control characters")]
    ControlCharacter {
        /// A description: "a newline", "a tab", "U+0007", ...
        what: String,
        /// 1-based position in the submitted text, in characters.
        position: usize,
    },
    #[error("unknown user '{name}' (users: {})", users.join(", "))]
    UnknownUser { name: String, users: Vec<String> },
    #[error("{user} cannot block or unblock themselves")]
    BlockSelf { user: String },
    #[error("{user} already blocks {target}")]
    AlreadyBlocked { user: String, target: String },
    #[error("{user} does not block {target}, so there is nothing to unblock{}", list_blocked(.blocked))]
    NotBlocked {
        user: String,
        target: String,
        /// Whom `user` does block, for the message.
        blocked: Vec<String>,
    },
}

impl RuleError {
    /// The control protocol's code (SPEC 8): 400 when the request can never
    /// succeed as written (the text of the tweet, a user who is not a site,
    /// a block of oneself), 409 when the current state refuses it (already
    /// blocked, not blocked) and another state would not.
    pub fn stat(&self) -> u16 {
        match self {
            RuleError::EmptyTweet
            | RuleError::TweetTooLong { .. }
            | RuleError::ControlCharacter { .. }
            | RuleError::UnknownUser { .. }
            | RuleError::BlockSelf { .. } => 400,
            RuleError::AlreadyBlocked { .. } | RuleError::NotBlocked { .. } => 409,
        }
    }
}

fn list_blocked(blocked: &[String]) -> String {
    if blocked.is_empty() {
        " (they block nobody)".to_string()
    } else {
        format!(" (they block: {})", blocked.join(", "))
    }
}

/// Checks a tweet's text and returns it trimmed of surrounding white space:
/// 1 to [`MAX_TWEET_CHARS`] characters once trimmed, and no control
/// character anywhere (a newline, even a trailing one, is refused rather
/// than rewritten; so are the Unicode line and paragraph separators).
pub fn check_tweet(text: &str) -> Result<String, RuleError> {
    if let Some((i, c)) = text.chars().enumerate().find(|&(_, c)| is_forbidden(c)) {
        return Err(RuleError::ControlCharacter {
            what: describe(c),
            position: i + 1,
        });
    }
    let trimmed = text.trim();
    match trimmed.chars().count() {
        0 => Err(RuleError::EmptyTweet),
        n if n > MAX_TWEET_CHARS => Err(RuleError::TweetTooLong { chars: n }),
        _ => Ok(trimmed.to_string()),
    }
}

fn is_forbidden(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

fn describe(c: char) -> String {
    match c {
        '\n' => "a newline".into(),
        '\r' => "a carriage return".into(),
        '\t' => "a tab".into(),
        '\u{2028}' => "a line separator (U+2028)".into(),
        '\u{2029}' => "a paragraph separator (U+2029)".into(),
        c => format!("the control character U+{:04X}", u32::from(c)),
    }
}

impl State {
    fn known(&self, name: &str) -> Result<usize, RuleError> {
        self.user_index(name).ok_or_else(|| RuleError::UnknownUser {
            name: name.to_string(),
            users: self.users().to_vec(),
        })
    }

    /// May `user` block `target` now? `target` must be another known user
    /// that `user` does not already block.
    pub fn check_block(&self, user: &str, target: &str) -> Result<(), RuleError> {
        let a = self.known(user)?;
        let b = self.known(target)?;
        if a == b {
            return Err(RuleError::BlockSelf {
                user: user.to_string(),
            });
        }
        if self.blocks[a].contains(&b) {
            return Err(RuleError::AlreadyBlocked {
                user: user.to_string(),
                target: target.to_string(),
            });
        }
        Ok(())
    }

    /// May `user` unblock `target` now? `user` must currently block `target`
    /// (so never themselves: that is [`RuleError::BlockSelf`], as a request
    /// that can never succeed).
    pub fn check_unblock(&self, user: &str, target: &str) -> Result<(), RuleError> {
        let a = self.known(user)?;
        let b = self.known(target)?;
        if a == b {
            return Err(RuleError::BlockSelf {
                user: user.to_string(),
            });
        }
        if !self.blocks[a].contains(&b) {
            return Err(RuleError::NotBlocked {
                user: user.to_string(),
                target: target.to_string(),
                blocked: self.blocked_by(user),
            });
        }
        Ok(())
    }
}
