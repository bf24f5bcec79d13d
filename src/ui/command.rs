//! What a line typed in the input box means (SPEC section 9).
//!
//! Plain text is a tweet. `/tweet <text>`, `/block <user>`, `/unblock <user>`,
//! `/view`, `/log [slot]`, `/help` and `/quit` are commands; so are `tweet <text>`,
//! `block <user>`, `unblock <user>`, `view` and `log` typed without the slash,
//! as in the original program's prompt. A line that starts like one of those
//! but is no valid command (`block party tonight`) gets the usage, not a
//! tweet; `/tweet` always tweets whatever follows it.

/// A command the input box understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Tweet(String),
    Block(String),
    Unblock(String),
    View,
    /// The decided log from this slot (`None`: the most recent slots).
    Log(Option<u64>),
    Help,
    Quit,
}

/// Why a line is not a command: the correct usage, to show while the text
/// stays in the box.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The usage of every command, one per line, for `/help` and errors.
pub const USAGE_ALL: &str =
    "text | /tweet <text> | /block <user> | /unblock <user> | /view | /log [slot] | /help | /quit";

fn usage(cmd: &str) -> Usage {
    Usage(match cmd {
        "tweet" => "usage: /tweet <text>   (or just type the text)".to_string(),
        "block" => "usage: /block <user>   (one user name, e.g. /block bob)".to_string(),
        "unblock" => "usage: /unblock <user>   (one user name, e.g. /unblock bob)".to_string(),
        "view" => "usage: /view   (no argument: shows your timeline)".to_string(),
        "log" => "usage: /log [slot]   (the decided log: the latest slots, or from that slot on)"
            .to_string(),
        "help" => "usage: /help".to_string(),
        "quit" => "usage: /quit".to_string(),
        other => format!("unknown command /{other}; commands: {USAGE_ALL}"),
    })
}

/// Commands that also work without the slash.
const BARE: [&str; 5] = ["tweet", "block", "unblock", "view", "log"];

/// Parses one input line. `Ok(None)`: nothing to do (a blank line).
pub fn parse(line: &str) -> Result<Option<Command>, Usage> {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if let Some(rest) = trimmed.strip_prefix('/') {
        let (word, arg) = split_word(rest);
        return command(word, arg).map(Some);
    }
    let (word, arg) = split_word(trimmed);
    if BARE.contains(&word) {
        return command(word, arg).map(Some);
    }
    Ok(Some(Command::Tweet(trimmed.to_string())))
}

/// The first word and the rest (trimmed).
fn split_word(s: &str) -> (&str, &str) {
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], s[i..].trim()),
        None => (s, ""),
    }
}

fn command(word: &str, arg: &str) -> Result<Command, Usage> {
    let one_word = |cmd: &str| -> Result<String, Usage> {
        if arg.is_empty() || arg.contains(char::is_whitespace) {
            Err(usage(cmd))
        } else {
            Ok(arg.to_string())
        }
    };
    let no_arg = |cmd: &str, c: Command| {
        if arg.is_empty() {
            Ok(c)
        } else {
            Err(usage(cmd))
        }
    };
    match word {
        "tweet" if arg.is_empty() => Err(usage("tweet")),
        "tweet" => Ok(Command::Tweet(arg.to_string())),
        "block" => one_word("block").map(Command::Block),
        "unblock" => one_word("unblock").map(Command::Unblock),
        "view" => no_arg("view", Command::View),
        "log" if arg.is_empty() => Ok(Command::Log(None)),
        "log" => arg
            .parse()
            .map(|n| Command::Log(Some(n)))
            .map_err(|_| usage("log")),
        "help" | "h" | "?" => Ok(Command::Help),
        "quit" | "q" | "exit" => no_arg("quit", Command::Quit),
        other => Err(usage(other)),
    }
}

/// How many characters of `line` are a command prefix (`/tweet `,
/// `tweet `) in front of a tweet's text: the input box allows 280
/// characters of text after it.
pub fn tweet_prefix_chars(line: &str) -> usize {
    let lead = line.len() - line.trim_start().len();
    let rest = &line[lead..];
    for p in ["/tweet", "tweet"] {
        if let Some(after) = rest.strip_prefix(p) {
            if after.starts_with(char::is_whitespace) {
                let spaces = after.len() - after.trim_start().len();
                return line[..lead + p.len() + spaces].chars().count();
            }
        }
    }
    lead
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Command {
        parse(line).unwrap().unwrap()
    }

    #[test]
    fn plain_text_is_a_tweet() {
        assert_eq!(ok("hello world"), Command::Tweet("hello world".into()));
        assert_eq!(ok("  spaced  "), Command::Tweet("spaced".into()));
        assert_eq!(ok("Block party"), Command::Tweet("Block party".into()));
        assert_eq!(ok("blocked roads"), Command::Tweet("blocked roads".into()));
        assert_eq!(parse("   ").unwrap(), None);
    }

    #[test]
    fn block_party_tonight_gets_the_usage_not_a_tweet() {
        let err = parse("block party tonight").unwrap_err();
        assert!(err.0.contains("usage: /block <user>"), "{err}");
        let err = parse("/block party tonight").unwrap_err();
        assert!(err.0.contains("usage: /block <user>"), "{err}");
        assert!(parse("block").unwrap_err().0.contains("/block <user>"));
        assert!(parse("unblock a b")
            .unwrap_err()
            .0
            .contains("/unblock <user>"));
    }

    #[test]
    fn slash_tweet_always_tweets() {
        assert_eq!(ok("/tweet block x"), Command::Tweet("block x".into()));
        assert_eq!(ok("/tweet /quit"), Command::Tweet("/quit".into()));
        assert_eq!(ok("tweet view"), Command::Tweet("view".into()));
        assert!(parse("/tweet").unwrap_err().0.contains("/tweet <text>"));
        assert!(parse("tweet   ").unwrap_err().0.contains("/tweet <text>"));
    }

    #[test]
    fn commands_with_and_without_slash() {
        assert_eq!(ok("/block bob"), Command::Block("bob".into()));
        assert_eq!(ok("block bob"), Command::Block("bob".into()));
        assert_eq!(ok("unblock  bob "), Command::Unblock("bob".into()));
        assert_eq!(ok("/unblock bob"), Command::Unblock("bob".into()));
        assert_eq!(ok("view"), Command::View);
        assert_eq!(ok("/view"), Command::View);
        assert_eq!(ok("log"), Command::Log(None));
        assert_eq!(ok("/log"), Command::Log(None));
        assert_eq!(ok("log 5"), Command::Log(Some(5)));
        assert_eq!(ok("/log  0 "), Command::Log(Some(0)));
        assert_eq!(ok("/help"), Command::Help);
        assert_eq!(ok("/quit"), Command::Quit);
        // Only the five of SPEC 9 work without the slash.
        assert_eq!(ok("help"), Command::Tweet("help".into()));
        assert_eq!(ok("quit"), Command::Tweet("quit".into()));
    }

    #[test]
    fn wrong_commands_show_their_usage() {
        assert!(parse("view all").unwrap_err().0.contains("usage: /view"));
        assert!(parse("log five")
            .unwrap_err()
            .0
            .contains("usage: /log [slot]"));
        assert!(parse("log 5 6")
            .unwrap_err()
            .0
            .contains("usage: /log [slot]"));
        assert!(parse("/log -1")
            .unwrap_err()
            .0
            .contains("usage: /log [slot]"));
        let err = parse("/frobnicate").unwrap_err();
        assert!(err.0.contains("unknown command /frobnicate"), "{err}");
        assert!(err.0.contains("/tweet <text>"), "{err}");
    }

    #[test]
    fn tweet_prefix_is_measured_in_chars() {
        assert_eq!(tweet_prefix_chars("hello"), 0);
        assert_eq!(tweet_prefix_chars("/tweet hi"), 7);
        assert_eq!(tweet_prefix_chars("tweet  hi"), 7);
        assert_eq!(tweet_prefix_chars("tweeted"), 0);
        assert_eq!(tweet_prefix_chars("  /tweet é"), 9);
    }
}
