"""vercompare: compare torch + diffusers versions, one container per variant."""
__version__ = "0.1.0"
