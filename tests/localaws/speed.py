"""Process-wide caches that make the test suite faster without changing what is tested.

Each one caches something that botocore, boto3 or moto rebuild on every call although it
cannot differ between calls in one process. None of them touches vpcguard's code, a
client's endpoint, credentials, configuration or event handlers, or what moto stores and
answers: the AWS calls, their HTTP requests and the responses are exactly as before.
Measured with py-spy over the whole suite (the share of all samples each one removed is
in its docstring). Only the tests install them (tests/conftest.py); the demo and the
benchmark run botocore as shipped.
"""

from __future__ import annotations

import functools
import gc
import logging
import weakref
from typing import Any

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _share_botocore_loader()
    _share_client_classes()
    _share_event_alias_names()
    _moto_server_lookups_once()
    _forget_reset_backends()
    _quiet_request_log()
    _collect_garbage_less_often()
    _installed = True


def _share_botocore_loader() -> None:
    """Every boto3 Session in this process reads the service models through one botocore
    Loader. A Session builds its own Loader, so every new Session (each AwsClients, each
    Builder, each CLI run) parsed the large JSON models again: about half of the suite's
    time. The Loader only reads botocore's own data files and caches what it parsed, so
    sharing it changes no client's behaviour; event handlers, credentials and call counters
    stay per Session. Only for the default data path: an AWS_DATA_PATH gets its own."""
    import botocore.loaders
    import botocore.session

    shared: dict[str | None, botocore.loaders.Loader] = {}
    create = botocore.loaders.create_loader

    def create_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
        if search_path_string not in shared:
            shared[search_path_string] = create(search_path_string)
        return shared[search_path_string]

    botocore.session.create_loader = create_loader


def _share_client_classes() -> None:
    """Build each service's client class once per process (about 10% of the suite's
    samples). botocore builds the class, one method per operation (EC2 has over 700), for
    every new client of every Session. The class holds only those generic methods and what
    boto3's `creating-client-class` handlers add, the same for every boto3 Session; a
    client's endpoint, credentials, config and event handlers are on the instance."""
    import botocore.client

    shared: dict[tuple[str, str], type] = {}
    create = botocore.client.ClientCreator._create_client_class

    def create_client_class(self: Any, service_name: str, service_model: Any) -> type:
        key = (service_name, service_model.api_version)
        if key not in shared:
            shared[key] = create(self, service_name, service_model)
        return shared[key]

    botocore.client.ClientCreator._create_client_class = create_client_class


def _share_event_alias_names() -> None:
    """A new botocore Session registers some 300 built-in handlers, each client copies the
    Session's emitter, and every event a call emits is translated through botocore's fixed
    alias table, each emitter with its own cache of the translations (together about 8% of
    the suite's CPU). The translation depends only on that table, so emitters using it
    share one cache; and whether a handler accepts **kwargs (botocore checks it with
    inspect.signature at every registration) depends only on the function."""
    from botocore import hooks

    shared: dict[str, str] = {}
    default_aliases = dict(hooks.EVENT_ALIASES)
    init = hooks.EventAliaser.__init__

    def __init__(self: Any, event_emitter: Any, event_aliases: Any = None) -> None:
        init(self, event_emitter, event_aliases)
        # A client's emitter is a copy, made with a copy of the table.
        if event_aliases is None or event_aliases == default_aliases:
            self._alias_name_cache = shared

    hooks.EventAliaser.__init__ = __init__

    # Weak keys: many handlers are closures or partials made per Session or client, and a
    # strong key would keep each of them, and the Session it refers to, for the whole run.
    accepts: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()
    accepts_kwargs = hooks.accepts_kwargs

    def cached_accepts_kwargs(func: Any) -> bool:
        key = getattr(func, "__func__", func)  # a bound method: its function
        try:
            return accepts[key]
        except KeyError:
            accepts[key] = result = accepts_kwargs(func)
            return result
        except TypeError:  # not weakly referenceable: not cached
            return accepts_kwargs(func)

    hooks.accepts_kwargs = cached_accepts_kwargs


def _moto_server_lookups_once() -> None:
    """moto's server lists its own package directory (os.listdir plus an isdir per
    service) to route every request, and lists a response class's methods with
    inspect.getmembers for every request (together about 7% of the samples). Neither
    changes while the process runs."""
    import moto.backends
    import moto.core.responses

    modules = tuple(moto.backends.list_of_moto_modules())
    moto.backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]
    moto.core.responses.method_names_from_class = functools.cache(  # type: ignore[assignment]
        moto.core.responses.method_names_from_class
    )


def _forget_reset_backends() -> None:
    """moto 5.2.5 caches each Subnet's host iterator with functools.cache on the method, so
    the cache holds every Subnet ever made and, through it, every EC2 backend a reset threw
    away: a test process grew by some 7,500 objects per test (1.45 million after 194 tests,
    485 MB), and every full collection walked them all. A reset drops every subnet, so the
    cache is emptied with it; within a test it works as before."""
    from moto.ec2.models.subnets import Subnet
    from moto.moto_api._internal.models import MotoAPIBackend

    reset = MotoAPIBackend.reset

    def reset_and_forget(self: Any) -> None:
        reset(self)
        Subnet._base_avail_ip_iterator.cache_clear()  # type: ignore[attr-defined]

    MotoAPIBackend.reset = reset_and_forget  # type: ignore[method-assign]


def _quiet_request_log() -> None:
    """werkzeug logs one INFO line per request moto's server answers, formatted and then
    thrown away by pytest's capture; nothing reads it."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def _collect_garbage_less_often() -> None:
    """A test process holds botocore's parsed service models and moto's backends: millions
    of objects that live until it exits, which each full collection walks again. Those
    present once the test modules are imported go to the permanent generation (collect()
    skips them), and collections run after 50,000 allocations instead of 700 (measured on
    235 tests: 105 -> 87 CPU-seconds). A test that needs a collection calls gc.collect()."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
