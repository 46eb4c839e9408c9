"""The commands: each module parses its options, makes one call into a package named after its
concept (planning, execution, report, images), and prints. No logic lives here."""
from vercompare.commands import bisect, doctor, history, images, plan, report, run

# In --help order: the flow of a run (plan, run), then what reads its results, then the host.
MODULES = (run, plan, bisect, report, history, images, doctor)


def register(app) -> None:
    for module in MODULES:
        module.register(app)
