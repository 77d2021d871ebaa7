//! The language a file is written in, from its name: enough to pick a tokeniser and to count files and
//! bytes per language in a manifest.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Rust,
    Python,
    JavaScript,
    TypeScript,
    Java,
    Kotlin,
    Scala,
    Go,
    C,
    Cpp,
    CSharp,
    Swift,
    Ruby,
    Php,
    Shell,
    Sql,
    R,
    Julia,
    Lua,
}

impl Language {
    pub fn of_path(path: &str) -> Option<Self> {
        let name = path.rsplit('/').next().unwrap_or(path);
        let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
        Some(match ext.as_str() {
            "rs" => Self::Rust,
            "py" | "pyi" | "pyx" => Self::Python,
            "js" | "mjs" | "cjs" | "jsx" => Self::JavaScript,
            "ts" | "tsx" | "mts" | "cts" => Self::TypeScript,
            "java" => Self::Java,
            "kt" | "kts" => Self::Kotlin,
            "scala" => Self::Scala,
            "go" => Self::Go,
            "c" | "h" => Self::C,
            "cc" | "cpp" | "cxx" | "hpp" | "hh" | "hxx" | "cu" => Self::Cpp,
            "cs" => Self::CSharp,
            "swift" => Self::Swift,
            "rb" => Self::Ruby,
            "php" => Self::Php,
            "sh" | "bash" | "zsh" => Self::Shell,
            "sql" => Self::Sql,
            "r" => Self::R,
            "jl" => Self::Julia,
            "lua" => Self::Lua,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rust => "rust",
            Self::Python => "python",
            Self::JavaScript => "javascript",
            Self::TypeScript => "typescript",
            Self::Java => "java",
            Self::Kotlin => "kotlin",
            Self::Scala => "scala",
            Self::Go => "go",
            Self::C => "c",
            Self::Cpp => "cpp",
            Self::CSharp => "csharp",
            Self::Swift => "swift",
            Self::Ruby => "ruby",
            Self::Php => "php",
            Self::Shell => "shell",
            Self::Sql => "sql",
            Self::R => "r",
            Self::Julia => "julia",
            Self::Lua => "lua",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Language;

    #[test]
    fn languages_come_from_the_extension_whatever_its_case() {
        assert_eq!(Language::of_path("src/lib.rs"), Some(Language::Rust));
        assert_eq!(Language::of_path("pkg/Model.PY"), Some(Language::Python));
        assert_eq!(Language::of_path("include/a.hpp"), Some(Language::Cpp));
        assert_eq!(Language::of_path("README"), None);
        assert_eq!(Language::of_path("data.csv"), None);
    }
}
