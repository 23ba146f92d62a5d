from . import test_simulator_environment
