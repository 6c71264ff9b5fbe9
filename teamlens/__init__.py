"""teamlens: code-contribution analytics and review help that never scores a person."""

__version__ = "0.1.0"
