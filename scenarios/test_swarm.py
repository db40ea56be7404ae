"""The swarm matrix: a database service on a Docker Swarm of engines, node by node.

`pytest -m swarm` runs it on the swarm `python -m harness engines up swarm` brought up (`make
swarm` does both). The test lives in the package (`harness/frontends/pytest/matrix/test_swarm.py`),
shared with `pytest --persistence-matrix`.
"""

from harness.frontends.pytest.matrix.test_swarm import swarm_cluster, test_swarm

__all__ = ["swarm_cluster", "test_swarm"]
