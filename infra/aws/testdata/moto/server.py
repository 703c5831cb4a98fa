# Runs moto_server with one fix to moto 5.2.1's CloudFormation, so that twinedge's deploy
# can be tested through change sets as it runs on AWS.
#
# moto builds a stack's outputs when the stack object is created and in UpdateStack, but
# not in ExecuteChangeSet: a stack created or updated through a change set reports no (or
# stale) outputs, where CloudFormation reports the template's outputs. The patch
# recomputes them after an executed change set, as UpdateStack does. Nothing else changes.
import sys

from moto.cloudformation import models
from moto.server import main

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
