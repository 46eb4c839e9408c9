"""vercompare: compare torch + diffusers versions, one container per variant.

The Python API (vercompare.api; imported on first use, so `import vercompare` stays light):

    import vercompare
    r = vercompare.load("runs/2026-11-26T10-00-00")   # a run: r.verdict, r.cells, r.provenance,
    print(r.verdict)                                   #   r.to_records(), r.to_pandas(), r.render("md")
    d = vercompare.compare("runs/a", "runs/b", "5%")   # two saved runs, cell by cell
"""
__version__ = "0.1.0"
__all__ = ["Run", "compare", "load"]


def __getattr__(name: str):
    if name in __all__:
        from vercompare import api

        return getattr(api, name)
    raise AttributeError(f"module 'vercompare' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
