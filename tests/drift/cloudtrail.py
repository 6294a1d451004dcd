"""Real-shaped CloudTrail change events, as EventBridge delivers them.

The request parameters follow what CloudTrail records for each call: lower camel case at the
top level for the older EC2 calls, an `<Action>Request` wrapper with upper camel case keys
and `{"tag", "content"}` list items for the newer ones (ModifySecurityGroupRules,
ModifyVpcEndpoint, DeleteVpcEndpoints, DeleteFlowLogs), and S3's and IAM's own shapes.
"""

from __future__ import annotations

import uuid
from typing import Any

from tests.localaws.server import ACCOUNT, REGION

ACTOR = "arn:aws:sts::123456789012:assumed-role/network-admin/bob.martin"

SOURCES = {"ec2": "ec2.amazonaws.com", "s3": "s3.amazonaws.com", "iam": "iam.amazonaws.com"}


def request_parameters(event_name: str, resource: str) -> dict[str, Any]:
    """The requestParameters CloudTrail records for `event_name` on `resource`."""
    item = {"tag": 1, "content": resource}
    return {
        "RevokeSecurityGroupIngress": {
            "groupId": resource,
            "ipPermissions": {"items": [{"ipProtocol": "-1", "groups": {"items": [{"groupId": resource}]}}]},
        },
        "RevokeSecurityGroupEgress": {
            "groupId": resource,
            "ipPermissions": {
                "items": [{"ipProtocol": "-1", "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]
            },
        },
        "ModifySecurityGroupRules": {
            "ModifySecurityGroupRulesRequest": {
                "GroupId": resource,
                "SecurityGroupRule": {
                    "tag": 1,
                    "SecurityGroupRuleId": "sgr-0123456789abcdef0",
                    "SecurityGroupRule": {
                        "IpProtocol": "tcp",
                        "FromPort": 443,
                        "ToPort": 443,
                        "CidrIpv4": "10.0.0.0/8",
                    },
                },
            }
        },
        "ModifyVpcEndpoint": {
            "ModifyVpcEndpointRequest": {
                "VpcEndpointId": resource,
                "RemoveRouteTableId": {"tag": 1, "content": "rtb-0"},
            }
        },
        "DeleteVpcEndpoints": {"DeleteVpcEndpointsRequest": {"VpcEndpointId": item}},
        "DeleteFlowLogs": {"DeleteFlowLogsRequest": {"FlowLogId": item}},
        "CreateRoute": {
            "routeTableId": resource,
            "destinationCidrBlock": "0.0.0.0/0",
            "gatewayId": "igw-0abc",
        },
        "ReplaceRoute": {
            "routeTableId": resource,
            "destinationCidrBlock": "0.0.0.0/0",
            "natGatewayId": "nat-0abc",
        },
        "DeleteRoute": {"routeTableId": resource, "destinationPrefixListId": "pl-63a5400a"},
        "ReplaceRouteTableAssociation": {"associationId": resource, "routeTableId": "rtb-0fffffffffffffff0"},
        "AssociateRouteTable": {"routeTableId": "rtb-0fffffffffffffff0", "subnetId": resource},
        "DisassociateRouteTable": {"associationId": resource},
        "ModifyVpcAttribute": {"vpcId": resource, "enableDnsSupport": {"value": False}},
        "DeleteSubnet": {"subnetId": resource},
        "PutBucketPolicy": {
            "bucketName": resource,
            "Host": f"{resource}.s3.amazonaws.com",
            "bucketPolicy": {"Version": "2012-10-17", "Statement": []},
            "policy": "",
        },
        "DeleteBucketPolicy": {"bucketName": resource, "Host": f"{resource}.s3.amazonaws.com", "policy": ""},
        "DetachRolePolicy": {
            "roleName": resource,
            "policyArn": "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess",
        },
        "DeleteRolePolicy": {"roleName": resource, "policyName": "vpc-access"},
        "PutRolePolicy": {"roleName": resource, "policyName": "vpc-access", "policyDocument": "{}"},
        "PutRolePermissionsBoundary": {
            "roleName": resource,
            "permissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/boundary",
        },
    }[event_name]


SERVICE_OF = {
    **{
        name: "ec2"
        for name in (
            "RevokeSecurityGroupIngress",
            "RevokeSecurityGroupEgress",
            "ModifySecurityGroupRules",
            "ModifyVpcEndpoint",
            "DeleteVpcEndpoints",
            "DeleteFlowLogs",
            "CreateRoute",
            "ReplaceRoute",
            "DeleteRoute",
            "ReplaceRouteTableAssociation",
            "AssociateRouteTable",
            "DisassociateRouteTable",
            "ModifyVpcAttribute",
            "DeleteSubnet",
        )
    },
    "PutBucketPolicy": "s3",
    "DeleteBucketPolicy": "s3",
    "DetachRolePolicy": "iam",
    "DeleteRolePolicy": "iam",
    "PutRolePolicy": "iam",
    "PutRolePermissionsBoundary": "iam",
}


def change_event(
    event_name: str,
    resource: str,
    *,
    actor: str = ACTOR,
    error_code: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """The EventBridge event for one change (`AWS API Call via CloudTrail`)."""
    service = SERVICE_OF[event_name]
    # IAM is global: its events are recorded, and reach EventBridge, in us-east-1.
    region = "us-east-1" if service == "iam" else REGION
    detail: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROA4EXAMPLENETADMIN:bob.martin",
            "arn": actor,
            "accountId": ACCOUNT,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "arn": f"arn:aws:iam::{ACCOUNT}:role/network-admin",
                    "accountId": ACCOUNT,
                    "userName": "network-admin",
                },
            },
        },
        "eventTime": "2025-12-01T03:02:11Z",
        "eventSource": SOURCES[service],
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "APN/1.0 HashiCorp/1.0 Terraform/1.9.8",
        "requestParameters": request_parameters(event_name, resource),
        "responseElements": {"requestId": str(uuid.uuid4()), "_return": True} if service == "ec2" else None,
        "requestID": str(uuid.uuid4()),
        "eventID": event_id or str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }
    if error_code:
        detail["errorCode"] = error_code
        detail["errorMessage"] = "You are not authorized to perform this operation."
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": f"aws.{service}",
        "account": ACCOUNT,
        "time": "2025-12-01T03:02:11Z",
        "region": region,
        "resources": [],
        "detail": detail,
    }
