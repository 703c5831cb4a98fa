# Runs moto_server with one fix to moto 5.2.1's CloudFormation, so that twinedge's deploy
# can be tested through change sets as it runs on AWS.
#
# moto builds a stack's outputs when the stack object is created and in UpdateStack, but
# not in ExecuteChangeSet: a stack created or updated through a change set reports no (or
# stale) outputs, where CloudFormation reports the template's outputs. The patch
# recomputes them after an executed change set, as UpdateStack does.
#
# Second fix: moto evaluates bucket policies with no condition values and ignores the Bool
# operator (an unsupported operator counts as met), so the TLS-only Deny every twinedge
# bucket carries (Bool aws:SecureTransport false) denied every object request; and its
# statements answer DENIED when their Condition is not met, whatever their Effect, where in
# IAM such a statement does not apply (IAM User Guide, "Policy evaluation logic"). The fix
# evaluates Bool, gives bucket policies aws:SecureTransport "true" (the SDK speaks HTTPS to
# S3; only this stand-in is plain HTTP) and makes a statement whose condition is not met
# neutral.
import sys

from moto.cloudformation import models
from moto.iam import access_control, policy_conditions
from moto.s3 import models as s3models
from moto.server import main

policy_conditions.CONDITION_OPERATIONS["Bool"] = lambda expected, actual: str(expected).lower() == str(actual).lower()

_permitted = access_control.IAMPolicyStatement.is_action_permitted


def is_action_permitted(self, action, resource="*", principal=None, incoming_condition_values=None):
    if self._statement.get("Condition") and not self._check_conditions(incoming_condition_values):
        return access_control.PermissionResult.NEUTRAL
    return _permitted(self, action, resource, principal, incoming_condition_values)


access_control.IAMPolicyStatement.is_action_permitted = is_action_permitted


def get_permission(self, action, resource):
    if self.policy is None:
        return access_control.PermissionResult.NEUTRAL
    policy = access_control.IAMPolicy(self.policy.decode())
    return policy.is_action_permitted(action, resource, incoming_condition_values={"aws:SecureTransport": "true"})


s3models.FakeBucket.get_permission = get_permission

_execute = models.CloudFormationBackend.execute_change_set


def execute_change_set(self, change_set_name, stack_name=None):
    _execute(self, change_set_name, stack_name)
    for stack in self.stacks.values():
        if stack.name == stack_name or stack.stack_id == stack_name:
            stack._parse_template()
            stack.output_map = stack._create_output_map()


models.CloudFormationBackend.execute_change_set = execute_change_set

if __name__ == "__main__":
    main(sys.argv[1:])
