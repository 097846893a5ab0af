//! [`ChildCommand::parse`]: one line of text, split into words the way a POSIX shell would,
//! without running a shell.
//!
//! Only quoting and escaping are interpreted. Everything a shell would expand or act on
//! (`$VAR`, globs, `~`, pipes, redirections) is kept as plain characters, so a command from a
//! configuration file cannot do more than start the one program it names.

use serde_json::json;

use super::ChildCommand;
use crate::Error;

impl ChildCommand {
    /// Parses a command line such as `FOO=1 my-agent --model "big one"` into a command.
    ///
    /// The rules are those of a POSIX shell, limited to quoting:
    ///
    /// - words are separated by unquoted spaces, tabs and line breaks;
    /// - inside single quotes every character is literal;
    /// - inside double quotes a backslash escapes `"`, `\`, `$` and `` ` ``, and is kept as it is
    ///   before any other character;
    /// - outside quotes a backslash makes the next character literal;
    /// - quoted and unquoted parts next to each other form one word (`a"b c"d` is `ab cd`), and
    ///   `''` or `""` is an empty word;
    /// - words of the form `NAME=value` before the program (`NAME` made of ASCII letters, digits
    ///   and `_`, not starting with a digit, and unquoted) set environment variables for the
    ///   child. After the program, such a word is an ordinary argument.
    ///
    /// Nothing is expanded: `$HOME`, `*`, `~`, `|` and `>` reach the program as they are.
    ///
    /// # Errors
    ///
    /// An [`Error::invalid_command`] naming the problem and its column for an unterminated
    /// quote, a backslash at the very end, or a line with no program in it.
    ///
    /// ```
    /// use std::ffi::OsStr;
    /// use switchboard::ChildCommand;
    ///
    /// let command = ChildCommand::parse(r#"LOG=debug my-agent --name "the agent" 'a $b'"#)?;
    /// assert_eq!(command.program(), "my-agent");
    /// assert_eq!(command.get_args(), ["--name", "the agent", "a $b"]);
    /// let env: Vec<_> = command.get_envs().collect();
    /// assert_eq!(env, [(OsStr::new("LOG"), Some(OsStr::new("debug")))]);
    ///
    /// let error = ChildCommand::parse(r#"my-agent "oops"#).unwrap_err();
    /// assert!(error.message().contains("unterminated double quote"));
    /// # Ok::<(), switchboard::Error>(())
    /// ```
    pub fn parse(line: &str) -> Result<ChildCommand, Error> {
        let mut words = split_words(line)?.into_iter();
        let mut settings = Vec::new();
        let program = loop {
            let Some(word) = words.next() else {
                return Err(no_program(line, !settings.is_empty()));
            };
            match word.assignment() {
                Some((name, value)) => settings.push((name.to_owned(), value.to_owned())),
                None => break word.text,
            }
        };
        let mut command = ChildCommand::new(program).args(words.map(|word| word.text));
        for (name, value) in settings {
            command = command.env(name, value);
        }
        Ok(command)
    }
}

/// One word of the line, after quotes and escapes were removed.
#[derive(Default)]
struct Word {
    text: String,
    /// Where in `text` the first quoted or escaped character is. A shell treats `NAME=value` as
    /// an assignment only when the `NAME=` part is written without quotes or escapes, so this is
    /// what tells `FOO=1` from `"FOO=1"` and `FOO\=1`.
    first_quoted: Option<usize>,
}

impl Word {
    /// Notes that what comes next in `text` was quoted or escaped.
    fn mark_quoted(&mut self) {
        self.first_quoted.get_or_insert(self.text.len());
    }

    /// The name and value, if this word is a variable assignment.
    fn assignment(&self) -> Option<(&str, &str)> {
        let equals = self.text.find('=')?;
        if self.first_quoted.is_some_and(|quoted| quoted <= equals) {
            return None;
        }
        let name = &self.text[..equals];
        is_variable_name(name).then(|| (name, &self.text[equals + 1..]))
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`, a POSIX shell variable name.
fn is_variable_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == b'_')
        && bytes.all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
}

/// Cuts `line` into words, removing the quotes and escapes.
fn split_words(line: &str) -> Result<Vec<Word>, Error> {
    let mut words = Vec::new();
    // `None` between words: a word exists as soon as any part of it (even `''`) is seen.
    let mut current: Option<Word> = None;
    let mut chars = line.char_indices();
    while let Some((at, c)) = chars.next() {
        if matches!(c, ' ' | '\t' | '\n' | '\r') {
            words.extend(current.take());
            continue;
        }
        let word = current.get_or_insert_with(Word::default);
        match c {
            '\'' => {
                word.mark_quoted();
                loop {
                    match chars.next() {
                        Some((_, '\'')) => break,
                        Some((_, c)) => word.text.push(c),
                        None => return Err(unterminated("single quote", line, at)),
                    }
                }
            }
            '"' => {
                word.mark_quoted();
                loop {
                    match chars.next() {
                        Some((_, '"')) => break,
                        Some((_, '\\')) => match chars.next() {
                            Some((_, c @ ('"' | '\\' | '$' | '`'))) => word.text.push(c),
                            // Before any other character POSIX keeps the backslash.
                            Some((_, c)) => {
                                word.text.push('\\');
                                word.text.push(c);
                            }
                            None => return Err(unterminated("double quote", line, at)),
                        },
                        Some((_, c)) => word.text.push(c),
                        None => return Err(unterminated("double quote", line, at)),
                    }
                }
            }
            '\\' => match chars.next() {
                Some((_, c)) => {
                    word.mark_quoted();
                    word.text.push(c);
                }
                None => {
                    return Err(Error::invalid_command(format!(
                        "a backslash at the end of the command `{line}` (column {}) escapes \
                         nothing",
                        column(line, at)
                    ))
                    .with_data(json!({ "command": line, "column": column(line, at) })));
                }
            },
            c => word.text.push(c),
        }
    }
    words.extend(current);
    Ok(words)
}

/// The 1-based character column of byte offset `at`, for messages.
fn column(line: &str, at: usize) -> usize {
    line[..at].chars().count() + 1
}

fn unterminated(quote: &str, line: &str, at: usize) -> Error {
    let column = column(line, at);
    Error::invalid_command(format!(
        "unterminated {quote} (opened at column {column}) in the command `{line}`"
    ))
    .with_data(json!({ "command": line, "column": column }))
}

fn no_program(line: &str, had_assignments: bool) -> Error {
    let detail = if had_assignments {
        format!("the command `{line}` only sets variables and names no program to run")
    } else {
        format!("the command `{line}` is empty: there is no program to run")
    };
    Error::invalid_command(detail).with_data(json!({ "command": line }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::codes;

    /// Parses `line` into `[program, args...]` and `NAME=value` settings, as plain strings.
    fn parsed(line: &str) -> (Vec<String>, Vec<String>) {
        let command = ChildCommand::parse(line)
            .unwrap_or_else(|error| panic!("`{line}` did not parse: {error}"));
        let words = std::iter::once(command.program())
            .chain(command.get_args().iter().map(|arg| arg.as_os_str()))
            .map(|word| word.to_str().unwrap().to_owned())
            .collect();
        let env = command
            .get_envs()
            .map(|(key, value)| {
                format!(
                    "{}={}",
                    key.to_str().unwrap(),
                    value.unwrap().to_str().unwrap()
                )
            })
            .collect();
        (words, env)
    }

    #[test]
    fn words_quotes_escapes_and_assignments() {
        #[rustfmt::skip]
        let table: &[(&str, &[&str], &[&str])] = &[
            // plain words and whitespace
            ("agent", &["agent"], &[]),
            ("  agent \t --stdio\n -v  ", &["agent", "--stdio", "-v"], &[]),
            // single quotes: everything literal, backslashes too
            ("echo 'a b'", &["echo", "a b"], &[]),
            (r"echo 'a\b\'", &["echo", r"a\b\"], &[]),
            (r#"echo 'say "hi"'"#, &["echo", r#"say "hi""#], &[]),
            // double quotes: four escapes, other backslashes kept
            (r#"echo "a b""#, &["echo", "a b"], &[]),
            (r#"echo "\" \\ \$ \`""#, &["echo", r#"" \ $ `"#], &[]),
            (r#"echo "\n \a it's""#, &["echo", r"\n \a it's"], &[]),
            // outside quotes a backslash escapes any character
            (r"echo a\ b \'c\' \\", &["echo", "a b", "'c'", "\\"], &[]),
            // adjacent parts join into one word
            (r#"a"b c"d"#, &["ab cd"], &[]),
            (r#"echo x'y'"z"\ w"#, &["echo", "xyz w"], &[]),
            // empty words
            ("echo '' \"\" x", &["echo", "", "", "x"], &[]),
            ("'' arg", &["", "arg"], &[]),
            // no expansion: shell syntax is ordinary text
            ("echo $HOME * ~ | > a;b &", &["echo", "$HOME", "*", "~", "|", ">", "a;b", "&"], &[]),
            // non-ASCII text
            ("écho 'ünï cødé'", &["écho", "ünï cødé"], &[]),
            // leading assignments become env settings, with quotes allowed in the value
            ("FOO=1 agent", &["agent"], &["FOO=1"]),
            (r#"A=1 _b2="x y" EMPTY= agent --flag"#, &["agent", "--flag"], &["A=1", "_b2=x y", "EMPTY="]),
            ("A=1=2 agent", &["agent"], &["A=1=2"]),
            // after the program, NAME=value is an ordinary argument
            ("agent FOO=1", &["agent", "FOO=1"], &[]),
            ("A=1 agent B=2", &["agent", "B=2"], &["A=1"]),
            // not a valid name, or the name part quoted or escaped: the word is the program
            ("1A=x agent", &["1A=x", "agent"], &[]),
            ("A-B=x agent", &["A-B=x", "agent"], &[]),
            ("=x agent", &["=x", "agent"], &[]),
            (r#""FOO=1" agent"#, &["FOO=1", "agent"], &[]),
            (r"FOO\=1 agent", &["FOO=1", "agent"], &[]),
        ];
        for (line, words, env) in table {
            let (got_words, got_env) = parsed(line);
            assert_eq!(got_words, *words, "words of `{line}`");
            assert_eq!(got_env, *env, "env of `{line}`");
        }
    }

    #[test]
    fn every_error_says_what_and_where() {
        let table: &[(&str, &str)] = &[
            (
                r#"agent "open"#,
                r#"unterminated double quote (opened at column 7) in the command `agent "open`"#,
            ),
            (
                r#"agent "ends in backslash\"#,
                r#"unterminated double quote (opened at column 7) in the command `agent "ends in backslash\`"#,
            ),
            (
                "agent 'open",
                "unterminated single quote (opened at column 7) in the command `agent 'open`",
            ),
            (
                "é 'x",
                "unterminated single quote (opened at column 3) in the command `é 'x`",
            ),
            (
                r"agent \",
                r"a backslash at the end of the command `agent \` (column 7) escapes nothing",
            ),
            ("", "the command `` is empty: there is no program to run"),
            (
                " \t\n ",
                "the command ` \t\n ` is empty: there is no program to run",
            ),
            (
                "A=1 B=2",
                "the command `A=1 B=2` only sets variables and names no program to run",
            ),
        ];
        for (line, detail) in table {
            let error = match ChildCommand::parse(line) {
                Ok(command) => panic!("`{line}` parsed as {command:?}"),
                Err(error) => error,
            };
            assert_eq!(error.code(), codes::INVALID_COMMAND, "code for `{line}`");
            assert_eq!(
                error.message(),
                format!("Invalid command: {detail}"),
                "message for `{line}`"
            );
            assert_eq!(error.data().unwrap()["command"], *line);
        }
    }

    #[test]
    fn parsed_commands_start_with_the_defaults() {
        let command = ChildCommand::parse("agent").unwrap();
        assert_eq!(command.get_current_dir(), None);
        assert_eq!(
            command.get_stderr_tail_bytes(),
            super::super::DEFAULT_STDERR_TAIL_BYTES
        );
    }
}
