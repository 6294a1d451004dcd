"""vpcguard: keeps SageMaker batch transform jobs on a correctly built private VPC."""

__version__ = "0.1.0"
