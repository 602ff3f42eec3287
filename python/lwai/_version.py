"""lwai's version: the one place it is defined. pyproject.toml (scikit-build-core's regex
provider) and CMakeLists.txt read it from here."""

__version__ = "0.1.0"
