"""Findings reach people: Slack (Block Kit), AWS Chatbot, Security Hub, with noise control.

The input is always the subject object of the JSON contract (docs/architecture.md), which
is also the body of the SNS message the inspect function publishes. Nothing here knows
check internals beyond what a result says about itself.
"""
