//! What one source file imports from its own crate, read as text: its
//! `use` declarations (grouped and multi-line lists expanded) and the
//! paths written out in code (`crate::a::f()`), comments, string and
//! character literals skipped, each path made absolute (from the crate
//! root) when it starts with `crate`, `self` or `super`. Other paths
//! (`std::…`, other crates) are not imports between the crate's own files.

/// The absolute module paths (segments after `crate`) that the file at
/// module path `module` imports or names. A path may end in an item or
/// `*`; the caller finds the deepest module file it names.
pub(crate) fn imports(source: &str, module: &[String]) -> Vec<Vec<String>> {
    let tokens = tokens(source);
    let mut out = Vec::new();
    // Module path of each open brace: `Some(name)` for `mod name {`.
    let mut braces: Vec<Option<String>> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match tokens[i].as_str() {
            "{" => {
                let inline_mod = (i >= 2 && tokens[i - 2] == "mod").then(|| tokens[i - 1].clone());
                braces.push(inline_mod);
            }
            "}" => {
                braces.pop();
            }
            "use" => {
                let here = current_module(module, &braces);
                let mut trees = Vec::new();
                i = use_tree(&tokens, i + 1, Vec::new(), &mut trees);
                out.extend(trees.iter().filter_map(|p| absolute(p, &here)));
                continue;
            }
            "crate" | "self" | "super" if tokens.get(i + 1).is_some_and(|t| t == "::") => {
                // A path in code (`crate::a::f()`, `super::b::T`) is as
                // much a dependency on its file as a `use` of it.
                let here = current_module(module, &braces);
                let mut path = vec![tokens[i].clone()];
                i += 1;
                while tokens.get(i).is_some_and(|t| t == "::")
                    && tokens.get(i + 1).is_some_and(|t| is_identifier(t))
                {
                    path.push(tokens[i + 1].clone());
                    i += 2;
                }
                out.extend(absolute(&path, &here));
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// True for an identifier token (not punctuation).
fn is_identifier(token: &str) -> bool {
    token.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// The module a token is in: the file's module, then the inline modules
/// (`mod tests {`) whose braces are open.
fn current_module(file_module: &[String], braces: &[Option<String>]) -> Vec<String> {
    file_module
        .iter()
        .chain(braces.iter().flatten())
        .cloned()
        .collect()
}

/// Parses the use tree at `tokens[i]` with `prefix` before it, pushing
/// every full path; returns the index after the tree (at `,`, `}` or `;`).
fn use_tree(
    tokens: &[String],
    mut i: usize,
    mut prefix: Vec<String>,
    out: &mut Vec<Vec<String>>,
) -> usize {
    while i < tokens.len() {
        match tokens[i].as_str() {
            "::" => i += 1,
            "{" => {
                i += 1;
                while i < tokens.len() && tokens[i] != "}" {
                    i = use_tree(tokens, i, prefix.clone(), out);
                    if tokens.get(i).is_some_and(|t| t == ",") {
                        i += 1;
                    }
                }
                return end_of_tree(tokens, i + 1);
            }
            "as" => {
                out.push(prefix);
                return end_of_tree(tokens, i + 2);
            }
            "," | "}" | ";" => {
                out.push(prefix);
                return i;
            }
            segment => {
                prefix.push(segment.to_owned());
                i += 1;
            }
        }
    }
    out.push(prefix);
    i
}

/// Skips to the `,`, `}` or `;` that ends a tree (after a group or rename).
fn end_of_tree(tokens: &[String], mut i: usize) -> usize {
    while i < tokens.len() && ![",", "}", ";"].contains(&tokens[i].as_str()) {
        i += 1;
    }
    i
}

/// `path` from the crate root, if it starts at `crate`, `self` or `super`
/// (seen from module `here`); a trailing `self` names its parent.
fn absolute(path: &[String], here: &[String]) -> Option<Vec<String>> {
    let mut path: Vec<String> = path.to_vec();
    if path.last().is_some_and(|s| s == "self") {
        path.pop();
    }
    let (first, rest) = path.split_first()?;
    let mut base = match first.as_str() {
        "crate" => Vec::new(),
        "self" | "super" => here.to_vec(),
        _ => return None,
    };
    let mut rest = rest;
    if first == "super" {
        base.pop();
        while let Some(("super", tail)) = rest.split_first().map(|(h, t)| (h.as_str(), t)) {
            base.pop();
            rest = tail;
        }
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The file as tokens: identifiers (keywords and `$crate` included), `::`
/// and every other punctuation character, without whitespace, comments
/// and literals.
fn tokens(source: &str) -> Vec<String> {
    let s: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        let next = s.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < s.len() && s[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i = block_comment_end(&s, i);
        } else if c == '"' {
            i = string_end(&s, i + 1);
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && raw_string_start(&s, i + 1)
        {
            i = raw_string_end(&s, i + 1);
        } else if c == 'b' && next == Some('r') && raw_string_start(&s, i + 2) {
            i = raw_string_end(&s, i + 2);
        } else if c == 'b' && next == Some('"') {
            i = string_end(&s, i + 2);
        } else if c == '\'' {
            i = char_or_lifetime_end(&s, i);
        } else if c == ':' && next == Some(':') {
            out.push("::".to_owned());
            i += 2;
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let start = i;
            while i < s.len() && (s[i].is_alphanumeric() || s[i] == '_' || s[i] == '$') {
                i += 1;
            }
            out.push(s[start..i].iter().collect());
        } else {
            // Punctuation is kept: `{`, `}`, `,`, `;` and `*` shape use
            // trees, any other stops a path.
            if !c.is_whitespace() {
                out.push(c.to_string());
            }
            i += 1;
        }
    }
    out
}

/// Index after the block comment opening at `i` (they nest).
fn block_comment_end(s: &[char], mut i: usize) -> usize {
    let mut depth = 0;
    while i < s.len() {
        if s[i] == '/' && s.get(i + 1) == Some(&'*') {
            depth += 1;
            i += 2;
        } else if s[i] == '*' && s.get(i + 1) == Some(&'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// Index after the closing quote of a string whose body starts at `i`.
fn string_end(s: &[char], mut i: usize) -> usize {
    while i < s.len() {
        match s[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// True when `#…#"` (or `"`) at `i` opens a raw string.
fn raw_string_start(s: &[char], mut i: usize) -> bool {
    while s.get(i) == Some(&'#') {
        i += 1;
    }
    s.get(i) == Some(&'"')
}

/// Index after a raw string whose hashes (or quote) start at `i`.
fn raw_string_end(s: &[char], mut i: usize) -> usize {
    let mut hashes = 0;
    while s.get(i) == Some(&'#') {
        hashes += 1;
        i += 1;
    }
    i += 1;
    while i < s.len() {
        if s[i] == '"' && (0..hashes).all(|k| s.get(i + 1 + k) == Some(&'#')) {
            return i + 1 + hashes;
        }
        i += 1;
    }
    i
}

/// Index after a character literal at `i`, or after the quote of a
/// lifetime (whose name is then read as an identifier, harmlessly).
fn char_or_lifetime_end(s: &[char], i: usize) -> usize {
    if s.get(i + 1) == Some(&'\\') {
        let mut j = i + 3;
        while j < s.len() && s[j] != '\'' {
            j += 1;
        }
        j + 1
    } else if s.get(i + 2) == Some(&'\'') {
        i + 3
    } else {
        i + 1
    }
}
