"""Assignment choice: account manager first, least loaded, round robin among equals, else stay queued."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from routing.assign import AgentLoad, choose_agent, pick_agent

T0 = datetime(2024, 3, 4, 3, 0, tzinfo=timezone.utc)


def test_account_manager_first_when_online_with_capacity() -> None:
    agents = [AgentLoad(1, True, 0, 5), AgentLoad(7, True, 4, 5)]
    assert pick_agent(agents, account_manager_id=7) == 7


def test_account_manager_offline_or_full_falls_back() -> None:
    assert pick_agent([AgentLoad(1, True, 2, 5), AgentLoad(7, False, 0, 5)], account_manager_id=7) == 1
    choice = choose_agent([AgentLoad(1, True, 2, 5), AgentLoad(7, True, 5, 5)], account_manager_id=7)
    assert choice.agent_id == 1 and "at capacity" in choice.why
    assert pick_agent([AgentLoad(1, True, 2, 5)], account_manager_id=99) == 1


def test_least_loaded_relative_to_capacity() -> None:
    agents = [AgentLoad(1, True, 3, 4), AgentLoad(2, True, 3, 10), AgentLoad(3, True, 1, 2)]
    assert pick_agent(agents) == 2


def test_round_robin_among_equals_by_least_recent_assignment() -> None:
    agents = [AgentLoad(1, True, 1, 5), AgentLoad(2, True, 1, 5), AgentLoad(3, True, 1, 5)]
    last = {1: T0, 2: T0 - timedelta(minutes=5), 3: T0 + timedelta(minutes=1)}
    assert pick_agent(agents, last_assigned=last) == 2
    last[2] = T0 + timedelta(minutes=2)
    assert pick_agent(agents, last_assigned=last) == 1
    # never assigned goes first
    assert pick_agent(agents + [AgentLoad(4, True, 1, 5)], last_assigned=last) == 4
    assert "round robin" in choose_agent(agents, last_assigned=last).why


def test_nobody_free_stays_queued() -> None:
    agents = [AgentLoad(1, False, 0, 5), AgentLoad(2, True, 5, 5), AgentLoad(3, True, 0, 0)]
    choice = choose_agent(agents)
    assert choice.agent_id is None and "queued" in choice.why
    assert pick_agent([]) is None
