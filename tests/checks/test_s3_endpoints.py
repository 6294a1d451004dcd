"""s3_endpoint_exists, s3_endpoint_routes, s3_endpoint_policy_restricted and
s3_endpoint_denies_package_repos on real VPCs, route tables and endpoints in the local AWS.

Route checks work on each model subnet's effective route table (its explicit table, else
the VPC's main table); the policy checks judge every S3 endpoint that serves the subnets.
"""

import json

import pytest

from tests.conftest import result_of
from tests.localaws.builders import FULL_ACCESS_POLICY, restricted_s3_policy
from vpcguard import s3_policy
from vpcguard.model import Status

ENDPOINT_CHECKS = (
    "s3_endpoint_exists",
    "s3_endpoint_routes",
    "s3_endpoint_policy_restricted",
    "s3_endpoint_denies_package_repos",
)
NEEDS_ENDPOINT = ENDPOINT_CHECKS[1:]


def _policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(action, resource, **extra):
    return {"Effect": "Allow", "Principal": "*", "Action": action, "Resource": resource, **extra}


def _bare_vpc(builder):
    """Two private subnets with their own route tables, a group and a role: no endpoint."""
    vpc = builder.vpc("10.9.0.0/16")
    subnets = [builder.subnet(vpc, "10.9.1.0/24", "a"), builder.subnet(vpc, "10.9.2.0/24", "b")]
    tables = [builder.route_table(vpc, [s]) for s in subnets]
    sg = builder.security_group(vpc)
    return vpc, subnets, tables, sg, builder.role()


def _model_in(builder, name, subnets, sg, role):
    builder.model(name, subnet_ids=subnets, security_group_ids=[sg], role_arn=role)


# --- the compliant baseline ------------------------------------------------------------------


def test_compliant_vpc_passes_every_endpoint_check(builder, engine):
    net = builder.compliant_vpc()
    builder.compliant_model("m", net)
    report = engine.evaluate_model("m")
    for check_id in ENDPOINT_CHECKS:
        result = result_of(report, check_id)
        assert result.status == Status.PASS, (check_id, result.detail)
        assert net.s3_endpoint_id in result.detail, check_id
    routes = result_of(report, "s3_endpoint_routes")
    for subnet, table in zip(net.subnet_ids, net.route_table_ids, strict=True):
        assert f"{subnet} -> {table}" in routes.detail
    # `fixable` follows the catalog whatever the status; severity too.
    assert result_of(report, "s3_endpoint_exists").fixable is True
    assert result_of(report, "s3_endpoint_routes").fixable is True
    assert result_of(report, "s3_endpoint_policy_restricted").fixable is False
    assert result_of(report, "s3_endpoint_denies_package_repos").fixable is False
    assert result_of(report, "s3_endpoint_policy_restricted").severity == "MEDIUM"
    assert result_of(report, "s3_endpoint_denies_package_repos").severity == "LOW"


# --- s3_endpoint_exists ----------------------------------------------------------------------


def test_vpc_without_s3_endpoint_fails_and_endpoint_dependent_checks_are_not_applicable(builder, engine):
    vpc, subnets, _, sg, role = _bare_vpc(builder)
    _model_in(builder, "m", subnets, sg, role)
    report = engine.evaluate_model("m")
    exists = result_of(report, "s3_endpoint_exists")
    assert exists.status == Status.FAIL
    assert exists.severity == "HIGH"
    assert f"{vpc} has no S3 endpoint (com.amazonaws.us-east-1.s3) in state available" in exists.detail
    assert exists.resource_ids == [vpc]
    for check_id in NEEDS_ENDPOINT:
        result = result_of(report, check_id)
        assert result.status == Status.NOT_APPLICABLE, (check_id, result.detail)
        assert "no available S3 endpoint" in result.detail


def test_endpoint_for_another_service_does_not_count(builder, engine):
    vpc, subnets, _, sg, role = _bare_vpc(builder)
    kms = builder.interface_endpoint(vpc, "kms", subnets, [sg])
    _model_in(builder, "m", subnets, sg, role)
    exists = result_of(engine.evaluate_model("m"), "s3_endpoint_exists")
    assert exists.status == Status.FAIL
    assert kms not in exists.detail


def test_s3_interface_endpoint_counts_as_an_s3_endpoint(builder, engine):
    vpc, subnets, _, sg, role = _bare_vpc(builder)
    interface = builder.interface_endpoint(vpc, "s3", subnets, [sg], policy=restricted_s3_policy(["data"]))
    _model_in(builder, "m", subnets, sg, role)
    report = engine.evaluate_model("m")
    exists = result_of(report, "s3_endpoint_exists")
    assert exists.status == Status.PASS
    assert f"{interface} (Interface, private DNS on)" in exists.detail
    # With private DNS the interface endpoint serves every subnet: no route table needed.
    routes = result_of(report, "s3_endpoint_routes")
    assert routes.status == Status.PASS
    assert f"interface endpoint {interface} with private DNS" in routes.detail
    assert result_of(report, "s3_endpoint_policy_restricted").status == Status.PASS


def test_routes_not_applicable_with_only_an_interface_endpoint_without_private_dns(builder, engine):
    vpc, subnets, _, sg, role = _bare_vpc(builder)
    builder.interface_endpoint(vpc, "s3", subnets, [sg], private_dns=False)
    _model_in(builder, "m", subnets, sg, role)
    report = engine.evaluate_model("m")
    assert result_of(report, "s3_endpoint_exists").status == Status.PASS
    routes = result_of(report, "s3_endpoint_routes")
    assert routes.status == Status.NOT_APPLICABLE
    assert "without private DNS" in routes.detail


# --- s3_endpoint_routes ----------------------------------------------------------------------


def test_subnet_whose_explicit_table_is_not_on_the_gateway_fails(builder, engine):
    vpc, subnets, tables, sg, role = _bare_vpc(builder)
    endpoint = builder.s3_gateway_endpoint(vpc, [tables[0]], policy=restricted_s3_policy(["data"]))
    _model_in(builder, "m", subnets, sg, role)
    routes = result_of(engine.evaluate_model("m"), "s3_endpoint_routes")
    assert routes.status == Status.FAIL
    assert routes.severity == "HIGH"
    assert f"{endpoint} is on {tables[0]}" in routes.detail
    assert f"{subnets[1]} uses {tables[1]} (explicitly associated)" in routes.detail
    assert subnets[0] not in routes.detail
    assert set(routes.resource_ids) == {subnets[1], tables[1], endpoint}


def test_subnet_using_the_main_table_implicitly_beside_an_explicit_one(builder, engine):
    """Edge case: one subnet explicitly associated with a table on the endpoint, the other
    with no association at all, so its effective table is the main table, which is not."""
    vpc, subnets, tables, sg, role = _bare_vpc(builder)
    implicit = builder.subnet(vpc, "10.9.3.0/24", "c")
    main = builder.main_route_table(vpc)
    endpoint = builder.s3_gateway_endpoint(vpc, [tables[0]], policy=restricted_s3_policy(["data"]))
    _model_in(builder, "m", [subnets[0], implicit], sg, role)
    routes = result_of(engine.evaluate_model("m"), "s3_endpoint_routes")
    assert routes.status == Status.FAIL
    assert (
        f"{implicit} uses {main} (the VPC's main route table, used implicitly: the subnet has no "
        "explicit association)"
    ) in routes.detail
    assert subnets[0] not in routes.detail
    assert endpoint in routes.resource_ids and main in routes.resource_ids


def test_main_table_on_the_endpoint_covers_only_the_subnets_that_use_it(builder, engine):
    """A check that asked "is the main table on the endpoint?" would pass this; the subnet
    with its own explicit table still has no route to the endpoint."""
    vpc, subnets, tables, sg, role = _bare_vpc(builder)
    implicit = builder.subnet(vpc, "10.9.3.0/24", "c")
    main = builder.main_route_table(vpc)
    builder.s3_gateway_endpoint(vpc, [main], policy=restricted_s3_policy(["data"]))
    _model_in(builder, "m", [subnets[0], implicit], sg, role)
    routes = result_of(engine.evaluate_model("m"), "s3_endpoint_routes")
    assert routes.status == Status.FAIL
    assert f"{subnets[0]} uses {tables[0]} (explicitly associated)" in routes.detail
    assert implicit not in routes.detail

    _model_in(builder, "only-implicit", [implicit], sg, role)
    ok = result_of(engine.evaluate_model("only-implicit"), "s3_endpoint_routes")
    assert ok.status == Status.PASS
    assert f"{implicit} -> {main}" in ok.detail


def test_uncovered_subnet_served_by_s3_interface_endpoint_with_private_dns_passes(builder, engine):
    vpc, subnets, tables, sg, role = _bare_vpc(builder)
    builder.s3_gateway_endpoint(vpc, [tables[0]], policy=restricted_s3_policy(["data"]))
    interface = builder.interface_endpoint(
        vpc, "s3", [subnets[0]], [sg], policy=restricted_s3_policy(["data"])
    )
    _model_in(builder, "m", subnets, sg, role)
    routes = result_of(engine.evaluate_model("m"), "s3_endpoint_routes")
    assert routes.status == Status.PASS
    assert (
        subnets[1] in routes.detail and f"S3 interface endpoint {interface} with private DNS" in routes.detail
    )


def test_uncovered_subnet_not_rescued_by_interface_endpoint_without_private_dns(builder, engine):
    vpc, subnets, tables, sg, role = _bare_vpc(builder)
    builder.s3_gateway_endpoint(vpc, [tables[0]], policy=restricted_s3_policy(["data"]))
    builder.interface_endpoint(vpc, "s3", [subnets[0]], [sg], private_dns=False)
    _model_in(builder, "m", subnets, sg, role)
    routes = result_of(engine.evaluate_model("m"), "s3_endpoint_routes")
    assert routes.status == Status.FAIL
    assert f"{subnets[1]} uses {tables[1]}" in routes.detail


def test_route_table_added_with_modify_vpc_endpoint_counts(builder, engine):
    """moto records AddRouteTableIds on the endpoint without adding the prefix-list route;
    the check reads RouteTableIds, as the catalog says, so this is a PASS."""
    vpc, subnets, tables, sg, role = _bare_vpc(builder)
    endpoint = builder.s3_gateway_endpoint(vpc, [tables[0]], policy=restricted_s3_policy(["data"]))
    builder.ec2.modify_vpc_endpoint(VpcEndpointId=endpoint, AddRouteTableIds=[tables[1]])
    _model_in(builder, "m", subnets, sg, role)
    routes = result_of(engine.evaluate_model("m"), "s3_endpoint_routes")
    assert routes.status == Status.PASS, routes.detail


def test_subnets_split_over_two_gateway_endpoints_pass_routes(builder, engine):
    vpc, subnets, tables, sg, role = _bare_vpc(builder)
    first = builder.s3_gateway_endpoint(vpc, [tables[0]], policy=restricted_s3_policy(["data"]))
    second = builder.s3_gateway_endpoint(vpc, [tables[1]], policy=restricted_s3_policy(["data"]))
    _model_in(builder, "m", subnets, sg, role)
    report = engine.evaluate_model("m")
    routes = result_of(report, "s3_endpoint_routes")
    assert routes.status == Status.PASS
    assert first in routes.detail and second in routes.detail
    for check_id in ("s3_endpoint_policy_restricted", "s3_endpoint_denies_package_repos"):
        result = result_of(report, check_id)
        assert result.status == Status.PASS
        assert first in result.detail and second in result.detail


# --- s3_endpoint_policy_restricted -----------------------------------------------------------


def test_default_full_access_policy_fails_with_a_suggested_policy(builder, engine):
    vpc, subnets, tables, sg, role = _bare_vpc(builder)
    endpoint = builder.s3_gateway_endpoint(vpc, tables)  # no policy: AWS applies full access
    _model_in(builder, "m", subnets, sg, role)
    result = result_of(engine.evaluate_model("m"), "s3_endpoint_policy_restricted")
    assert result.status == Status.FAIL
    assert result.severity == "MEDIUM"
    assert (
        f"{endpoint}: statement #1 allows every action on every resource to every principal" in result.detail
    )
    assert result.resource_ids == [endpoint]
    remediation = result.remediation
    assert remediation["action"] == "suggest" and remediation["resource_id"] == endpoint
    suggestion = remediation["suggestion"]
    # The suggestion itself must pass both policy checks.
    assert s3_policy.is_default_full_access(suggestion) == (False, None)
    assert s3_policy.package_repo_exposures(suggestion) == []
    assert "<your-data-bucket>" in str(suggestion)  # a model names no buckets


def test_suggested_policy_for_a_job_is_limited_to_its_buckets(builder, engine):
    net = builder.compliant_vpc()
    builder.ec2.modify_vpc_endpoint(
        VpcEndpointId=net.s3_endpoint_id, PolicyDocument=json.dumps(FULL_ACCESS_POLICY)
    )
    builder.compliant_model("m", net)
    builder.transform_job("job", "m", input_uri="s3://input-data/in/", output_uri="s3://output-data/out/")
    result = result_of(engine.evaluate_transform_job("job"), "s3_endpoint_policy_restricted")
    assert result.status == Status.FAIL
    assert net.s3_endpoint_id in result.detail and "input-data, output-data" in result.detail
    allow = result.remediation["suggestion"]["Statement"][0]
    assert allow["Resource"] == [
        "arn:aws:s3:::input-data",
        "arn:aws:s3:::output-data",
        "arn:aws:s3:::input-data/*",
        "arn:aws:s3:::output-data/*",
    ]


@pytest.mark.parametrize(
    "policy",
    [
        _policy(_allow("s3:*", "*", Condition={"StringEquals": {"aws:PrincipalAccount": "123456789012"}})),
        _policy(
            _allow("*", "*"),
            {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteBucket", "Resource": "*"},
        ),
        _policy(_allow("s3:GetObject", "*")),
        _policy(_allow("*", "arn:aws:s3:::data/*")),
        _policy(
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "*",
                "Resource": "*",
            }
        ),
    ],
    ids=["condition", "has-deny", "one-action", "one-bucket", "one-principal"],
)
def test_custom_policies_are_not_the_default(builder, engine, policy):
    vpc, subnets, tables, sg, role = _bare_vpc(builder)
    endpoint = builder.s3_gateway_endpoint(vpc, tables, policy=policy)
    _model_in(builder, "m", subnets, sg, role)
    result = result_of(engine.evaluate_model("m"), "s3_endpoint_policy_restricted")
    assert result.status == Status.PASS, result.detail
    assert endpoint in result.detail


def test_s3_star_for_everyone_is_full_access_on_an_s3_endpoint(builder, engine):
    vpc, subnets, tables, sg, role = _bare_vpc(builder)
    endpoint = builder.s3_gateway_endpoint(
        vpc,
        tables,
        policy=_policy(_allow("s3:*", "arn:aws:s3:::*"), _allow("s3:GetObject", "arn:aws:s3:::x/*")),
    )
    _model_in(builder, "m", subnets, sg, role)
    result = result_of(engine.evaluate_model("m"), "s3_endpoint_policy_restricted")
    assert result.status == Status.FAIL
    assert endpoint in result.detail


def test_every_endpoint_serving_the_subnets_must_be_restricted(builder, engine):
    """Several S3 endpoints serve the model subnets: one with the default policy fails
    the check even though the other is restricted."""
    vpc, subnets, tables, sg, role = _bare_vpc(builder)
    good = builder.s3_gateway_endpoint(vpc, [tables[0]], policy=restricted_s3_policy(["data"]))
    bad = builder.s3_gateway_endpoint(vpc, [tables[1]], policy=FULL_ACCESS_POLICY)
    _model_in(builder, "m", subnets, sg, role)
    report = engine.evaluate_model("m")
    for check_id in ("s3_endpoint_policy_restricted", "s3_endpoint_denies_package_repos"):
        result = result_of(report, check_id)
        assert result.status == Status.FAIL, check_id
        assert bad in result.detail and good not in result.detail
        assert result.resource_ids == [bad]


def test_interface_endpoint_with_private_dns_is_judged_beside_the_gateway(builder, engine):
    net = builder.compliant_vpc()
    interface = builder.interface_endpoint(net.vpc_id, "s3", net.subnet_ids, [net.security_group_id])
    builder.compliant_model("m", net)
    result = result_of(engine.evaluate_model("m"), "s3_endpoint_policy_restricted")
    assert result.status == Status.FAIL
    assert interface in result.detail and net.s3_endpoint_id not in result.detail


def test_endpoint_on_no_model_subnet_is_still_judged(builder, engine):
    """Routes fail, but the policy checks judge the VPC's endpoint the traffic will use."""
    vpc, subnets, _, sg, role = _bare_vpc(builder)
    other_table = builder.route_table(vpc)
    endpoint = builder.s3_gateway_endpoint(vpc, [other_table], policy=FULL_ACCESS_POLICY)
    _model_in(builder, "m", subnets, sg, role)
    report = engine.evaluate_model("m")
    assert result_of(report, "s3_endpoint_routes").status == Status.FAIL
    assert endpoint in result_of(report, "s3_endpoint_policy_restricted").detail


# --- s3_endpoint_denies_package_repos --------------------------------------------------------


def test_default_policy_lets_containers_reach_the_package_repositories(builder, engine):
    vpc, subnets, tables, sg, role = _bare_vpc(builder)
    endpoint = builder.s3_gateway_endpoint(vpc, tables, policy=FULL_ACCESS_POLICY)
    _model_in(builder, "m", subnets, sg, role)
    result = result_of(engine.evaluate_model("m"), "s3_endpoint_denies_package_repos")
    assert result.status == Status.FAIL
    assert result.severity == "LOW"
    assert f"{endpoint} allows s3:GetObject on arn:aws:s3:::packages.*.amazonaws.com/*" in result.detail
    assert "amazonlinux.*.amazonaws.com/*" in result.detail
    deny = result.remediation["suggestion"]["Statement"][0]
    assert deny["Effect"] == "Deny" and deny["Action"] == ["s3:GetObject"]
    assert deny["Resource"] == list(s3_policy.PACKAGE_REPO_RESOURCES)


def test_deny_of_only_the_amazon_linux_1_repositories_leaves_amazon_linux_2_open(builder, engine):
    vpc, subnets, tables, sg, role = _bare_vpc(builder)
    policy = _policy(
        _allow("s3:*", "*"),
        {
            "Sid": "AmazonLinuxAMIRepositoryAccess",
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["s3:GetObject"],
            "Resource": ["arn:aws:s3:::packages.*.amazonaws.com/*", "arn:aws:s3:::repo.*.amazonaws.com/*"],
        },
    )
    endpoint = builder.s3_gateway_endpoint(vpc, tables, policy=policy)
    _model_in(builder, "m", subnets, sg, role)
    result = result_of(engine.evaluate_model("m"), "s3_endpoint_denies_package_repos")
    assert result.status == Status.FAIL
    assert (
        f"{endpoint} allows s3:GetObject on arn:aws:s3:::amazonlinux.*.amazonaws.com/* through statement #1"
        in (result.detail)
    )
    assert "packages.*" not in result.detail


@pytest.mark.parametrize(
    "policy",
    [
        # an allow-list that does not include the repositories
        _policy(_allow(["s3:GetObject", "s3:PutObject"], ["arn:aws:s3:::data", "arn:aws:s3:::data/*"])),
        # everything allowed, the repositories denied with a broader action wildcard
        _policy(
            _allow("*", "*"),
            {
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "s3:Get*",
                "Resource": list(s3_policy.PACKAGE_REPO_RESOURCES),
            },
        ),
        # NotAction that leaves GetObject out of the allow
        _policy({"Effect": "Allow", "Principal": "*", "NotAction": "s3:getobject", "Resource": "*"}),
        # allow on one region's repository, denied by the wildcard deny
        _policy(
            _allow("s3:GetObject", "arn:aws:s3:::packages.us-east-1.amazonaws.com/*"),
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::packages.*",
            },
        ),
    ],
    ids=["allow-list", "deny-wildcard-action", "not-action", "regional-allow-denied"],
)
def test_policies_that_keep_the_repositories_out_pass(builder, engine, policy):
    vpc, subnets, tables, sg, role = _bare_vpc(builder)
    endpoint = builder.s3_gateway_endpoint(vpc, tables, policy=policy)
    _model_in(builder, "m", subnets, sg, role)
    result = result_of(engine.evaluate_model("m"), "s3_endpoint_denies_package_repos")
    assert result.status == Status.PASS, result.detail
    assert endpoint in result.detail


@pytest.mark.parametrize(
    ("policy", "reason"),
    [
        # NotResource excludes only the data bucket: the repositories are allowed
        (
            _policy(
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "NotResource": "arn:aws:s3:::secret/*",
                }
            ),
            "arn:aws:s3:::packages.*.amazonaws.com/*, arn:aws:s3:::repo.*.amazonaws.com/*, "
            "arn:aws:s3:::amazonlinux.*.amazonaws.com/* through statement #1",
        ),
        # an allow on one region's repository bucket
        (
            _policy({"Sid": "Repo", **_allow("s3:Get*", "arn:aws:s3:::repo.us-east-1.amazonaws.com/*")}),
            "allows s3:GetObject on arn:aws:s3:::repo.*.amazonaws.com/* through statement 'Repo'",
        ),
        # a Deny with a condition does not reliably block
        (
            _policy(
                _allow("*", "*"),
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": list(s3_policy.PACKAGE_REPO_RESOURCES),
                    "Condition": {"StringEquals": {"aws:PrincipalAccount": "111111111111"}},
                },
            ),
            "arn:aws:s3:::packages.*.amazonaws.com/*, arn:aws:s3:::repo.*.amazonaws.com/*, "
            "arn:aws:s3:::amazonlinux.*.amazonaws.com/* through statement #1",
        ),
        # a Deny that names only one region leaves the other regions' repositories open
        (
            _policy(
                _allow("s3:*", "arn:aws:s3:::*"),
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::packages.us-east-1.amazonaws.com/*",
                },
            ),
            "allows s3:GetObject on arn:aws:s3:::packages.*.amazonaws.com/*, arn:aws:s3:::repo.*",
        ),
    ],
    ids=["not-resource", "regional-allow", "conditional-deny", "regional-deny"],
)
def test_policies_that_let_the_repositories_in_fail(builder, engine, policy, reason):
    vpc, subnets, tables, sg, role = _bare_vpc(builder)
    endpoint = builder.s3_gateway_endpoint(vpc, tables, policy=policy)
    _model_in(builder, "m", subnets, sg, role)
    result = result_of(engine.evaluate_model("m"), "s3_endpoint_denies_package_repos")
    assert result.status == Status.FAIL, result.detail
    assert endpoint in result.detail and reason in result.detail


# --- the policy helpers (pure) -----------------------------------------------------------------


def test_wildcard_matching():
    assert s3_policy.wildcard_match("s3:Get*", "S3:GETOBJECT", ignore_case=True)
    assert not s3_policy.wildcard_match("s3:Get*", "S3:GETOBJECT")
    assert s3_policy.wildcard_match("arn:aws:s3:::data/?", "arn:aws:s3:::data/x")
    assert not s3_policy.wildcard_match("arn:aws:s3:::data/?", "arn:aws:s3:::data/xy")
    assert not s3_policy.wildcard_match("arn:aws:s3:::data[1]", "arn:aws:s3:::data1")  # no char classes
    assert s3_policy.wildcards_intersect("arn:aws:s3:::packages.*", "arn:aws:s3:::*.amazonaws.com/*")
    assert s3_policy.wildcards_intersect(
        "arn:aws:s3:::repo.us-east-1.amazonaws.com/*", "arn:aws:s3:::repo.*.amazonaws.com/*"
    )
    assert not s3_policy.wildcards_intersect("arn:aws:s3:::data/*", "arn:aws:s3:::repo.*.amazonaws.com/*")
    assert not s3_policy.wildcards_intersect("a?c", "abcd")


def test_condition_operators_on_missing_and_present_keys():
    ours = {"aws:sourcevpce": "vpce-1"}
    cond = {"StringNotEquals": {"aws:sourcevpce": ("vpce-1",)}}
    assert s3_policy.condition_true(cond, ours) is False
    assert s3_policy.condition_true(cond, {}) is True
    assert (
        s3_policy.condition_true({"ForAnyValue:StringNotEquals": {"aws:sourcevpce": ("vpce-2",)}}, {})
        is False
    )
    assert s3_policy.condition_true({"StringNotLikeIfExists": {"aws:sourcevpce": ("vpce-*",)}}, ours) is False
    assert s3_policy.condition_true({"NumericLessThan": {"aws:sourcevpce": ("1",)}}, ours) is None
