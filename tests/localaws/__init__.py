"""A local AWS for tests, the demo and the benchmark: moto's server on 127.0.0.1 plus
builders that create real-shaped resources through ordinary boto3 calls."""
