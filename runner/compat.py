"""Feature detection across diffusers 0.17 .. latest and torch 2.0 .. nightly.

Everything here asks the installed code what it accepts (signatures, attributes);
nothing compares version numbers.
"""
import inspect


def init_params(cls):
    """Names accepted by cls.__init__ (empty set if it cannot be inspected)."""
    try:
        return set(inspect.signature(cls.__init__).parameters)
    except (TypeError, ValueError):
        return set()


def call_params(fn):
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return set()


def filter_kwargs(params, kwargs):
    """kwargs restricted to names in params (a set or a callable/class to inspect)."""
    if not isinstance(params, (set, frozenset)):
        params = init_params(params) if inspect.isclass(params) else call_params(params)
    return {k: v for k, v in kwargs.items() if k in params}


def build_pipeline(cls, components, **optional):
    """cls(**components) with the optional constructor arguments this version knows
    (image_encoder appears in 0.22, add_watermarker in 0.19, watermarker for IF...)."""
    params = init_params(cls)
    kwargs = dict(components)
    for key, value in optional.items():
        if key in params and key not in kwargs:
            kwargs[key] = value
    # Pipelines require every positional component; fill the ones we do not use with None.
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if name in ("self",) or name in kwargs:
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.default is param.empty:
            kwargs[name] = None
    return cls(**filter_kwargs(params, kwargs))


def load_state_dict_has_assign():
    import torch
    return "assign" in call_params(torch.nn.Module.load_state_dict)


def diffusers_class(name):
    """A class from top-level diffusers (module paths moved between versions), or None."""
    import diffusers
    return getattr(diffusers, name, None)
