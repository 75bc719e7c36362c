# Loaded by the Python of moto_server when hack/moto is on PYTHONPATH (internal/testenv
# MotoCommand): the test world's EC2 API, corrected where moto 5.2.1 departs from EC2's
# documented behaviour.
#
# Public IPv4 addresses: EC2 gives an instance a new public IP when it starts from stopped and
# keeps it while it runs; StartInstances on a running or pending instance changes nothing. moto
# draws a new random address on every StartInstances, also for a running instance, so a job that
# read the address before another job's StartInstances dials an address no test host answers on.
# Here a network interface keeps its address until the instance stops (moto's stop drops it), as
# on EC2.
from moto.ec2.models import elastic_network_interfaces as _eni

_draw = _eni.NetworkInterface.check_auto_public_ip


def _start(self):
    if getattr(self, "public_ip", None):
        return  # running or pending: EC2 keeps the address
    _draw(self)


_eni.NetworkInterface.start = _start
