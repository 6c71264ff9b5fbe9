"""Programming language of a path, from its file name."""

from __future__ import annotations

_BY_SUFFIX = {
    ".py": "Python",
    ".pyi": "Python",
    ".java": "Java",
    ".js": "JavaScript",
    ".mjs": "JavaScript",
    ".cjs": "JavaScript",
    ".jsx": "JavaScript",
    ".ts": "TypeScript",
    ".tsx": "TypeScript",
    ".mts": "TypeScript",
    ".cts": "TypeScript",
    ".go": "Go",
    ".c": "C",
    ".h": "C",
    ".cc": "C++",
    ".cpp": "C++",
    ".cxx": "C++",
    ".hh": "C++",
    ".hpp": "C++",
    ".hxx": "C++",
    ".cs": "C#",
    ".rb": "Ruby",
    ".rs": "Rust",
    ".php": "PHP",
    ".kt": "Kotlin",
    ".kts": "Kotlin",
    ".scala": "Scala",
    ".swift": "Swift",
    ".m": "Objective-C",
    ".mm": "Objective-C",
    ".sh": "Shell",
    ".bash": "Shell",
    ".pl": "Perl",
    ".pm": "Perl",
    ".r": "R",
    ".lua": "Lua",
    ".sql": "SQL",
}


def language_of(path: str) -> str | None:
    """The language of a source file, or None for documentation, data and the unknown."""
    name = path.rpartition("/")[2]
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:  # no suffix, or a dot file such as ".py"
        return None
    return _BY_SUFFIX.get("." + suffix.lower())
