"""Start-up decides by the type of the broker's error, never by its wording: a broker that does not answer yet is a
warning (at boot it often comes up after the board), anything else stops the start with one line."""

from __future__ import annotations

import logging
import socket

import pytest

from edgekit.config.daemon import DaemonConfig
from edgekit.config.mqtt import MQTTConfig
from edgekit.delivery.mqtt import BrokerRejected, BrokerUnavailable, BrokerUnreachable, BrokerUnresolved, check_broker
from edgekit.errors import StartupError
from edgekit.pipeline.startup import check_startup


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config(**mqtt: object) -> DaemonConfig:
    return DaemonConfig.model_validate({"cameras": {"a": {"source": "synthetic"}}, "mqtt": mqtt,
                                        "metrics": {"enabled": False}})


def test_each_broker_problem_has_its_type() -> None:
    with pytest.raises(BrokerUnreachable) as unreachable:
        check_broker(MQTTConfig(host="127.0.0.1", port=closed_port(), connect_timeout_s=1))
    with pytest.raises(BrokerUnresolved) as unresolved:
        check_broker(MQTTConfig(host="no-such-broker.invalid"))
    for e in (unreachable.value, unresolved.value):
        assert isinstance(e, BrokerUnavailable) and isinstance(e, StartupError)
        assert not isinstance(e, BrokerRejected) and "\n" not in str(e)
    assert not issubclass(BrokerRejected, BrokerUnavailable)  # a certificate that fails is never waited for


@pytest.mark.parametrize("host", ["127.0.0.1", "no-such-broker.invalid"])
def test_a_broker_that_does_not_answer_yet_is_a_warning(host: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="edgekit.pipeline.startup"):
        check_startup(config(host=host, port=closed_port(), connect_timeout_s=1))
    assert "starting anyway" in caplog.text
