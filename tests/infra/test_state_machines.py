"""State machines come from ASL files named in the topology, with the same substitutions
locally and in the stack; the stack logs and traces them (cdk-nag SF1/SF2 hold)."""

from __future__ import annotations

import dataclasses
import json

import boto3
from moto import mock_aws

from chalicelib.local.provision import provision
from chalicelib.topology import TOPOLOGY, StateMachine
from tests.infra.conftest import STAGED, resources

# A definition that uses a substitution the way the supplier stages will: open a stage on the bus.
ASL = {
    "Comment": "opens one stage and ends",
    "StartAt": "Open",
    "States": {
        "Open": {
            "Type": "Task",
            "Resource": "arn:aws:states:::events:putEvents",
            "Parameters": {
                "Entries": [
                    {"EventBusName": "${BusName}", "Source": "${EventSource}", "DetailType": "stage.opened", "Detail": {}}
                ]
            },
            "End": True,
        }
    },
}


def _with_machine(tmp_path):
    (tmp_path / "stage_probe.asl.json").write_text(json.dumps(ASL))
    return dataclasses.replace(TOPOLOGY, state_machines=(StateMachine("waybill-stage-probe", "stage_probe"),))


def test_a_state_machine_in_the_topology_is_deployed_with_logging_tracing_and_substitutions(tmp_path):
    import aws_cdk as cdk
    from aws_cdk import assertions
    from cdk_nag import AwsSolutionsChecks

    from infra.app import CONTEXT
    from infra.stacks import WaybillStack

    topology = _with_machine(tmp_path)
    app = cdk.App(outdir=str(tmp_path / "cdk.out"), context=CONTEXT)
    stack = WaybillStack(app, "Waybill", topology=topology, state_machine_dir=tmp_path, env=cdk.Environment(region="eu-west-1"))
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # raises on an unacknowledged cdk-nag finding
    template = assertions.Template.from_stack(stack).to_json()
    (machine,) = resources(template, "AWS::StepFunctions::StateMachine").values()
    props = machine["Properties"]
    assert props["StateMachineName"] == "waybill-prod-stage-probe"  # scoped to the checked stage
    assert json.loads(props["DefinitionString"]) == ASL
    assert props["DefinitionSubstitutions"]["BusName"] == STAGED.bus
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert props["TracingConfiguration"] == {"Enabled": True}


def test_the_local_stack_creates_the_same_machine_with_the_substitutions_applied(tmp_path):
    topology = _with_machine(tmp_path)
    with mock_aws():
        result = provision(topology, state_machine_dir=tmp_path)
        arn = result.state_machine_arns["waybill-stage-probe"]
        definition = json.loads(boto3.client("stepfunctions").describe_state_machine(stateMachineArn=arn)["definition"])
    entry = definition["States"]["Open"]["Parameters"]["Entries"][0]
    assert (entry["EventBusName"], entry["Source"]) == (TOPOLOGY.bus, "waybill")
