from tests.aws import api, aws, client  # noqa: F401  (fixtures)
