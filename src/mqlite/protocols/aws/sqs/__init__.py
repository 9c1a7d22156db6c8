"""SQS front-end: every action of botocore's SQS model, on the shared AWS wire layer.

`build(core, settings) -> ServiceFrontend` wires the action families (one module each:
`queues` lifecycle and attributes, `messages`, `batches`, `tags` and permissions,
`moves` for DLQ redrive tasks) into one dispatch table, with the SQS `query` overlay
(`query_traits`) for older SDKs and the core-error table of `aws.errors`.
"""

from __future__ import annotations

from mqlite.core.api import BrokerCore
from mqlite.protocols.aws.errors import map_core_error
from mqlite.protocols.aws.frontend import ServiceFrontend
from mqlite.protocols.aws.sqs.batches import BatchActions
from mqlite.protocols.aws.sqs.common import state_for
from mqlite.protocols.aws.sqs.messages import MessageActions
from mqlite.protocols.aws.sqs.moves import MoveActions
from mqlite.protocols.aws.sqs.query_traits import QUERY_OVERLAY
from mqlite.protocols.aws.sqs.queues import QueueActions
from mqlite.protocols.aws.sqs.tags import TagActions
from mqlite.protocols.aws.wire import AwsService
from mqlite.settings import Settings

_SERVICE: AwsService | None = None


def service() -> AwsService:
    """The SQS service model (json + query views), loaded once per process."""
    global _SERVICE
    if _SERVICE is None:
        _SERVICE = AwsService.load("sqs", QUERY_OVERLAY)
    return _SERVICE


def build(core: BrokerCore, settings: Settings) -> ServiceFrontend:
    state = state_for(core)
    queues = QueueActions(core, state)
    messages = MessageActions(core)
    batches = BatchActions(core)
    tags = TagActions(core, state)
    moves = MoveActions(core, queues)
    handlers = {
        "CreateQueue": queues.create_queue,
        "GetQueueUrl": queues.get_queue_url,
        "ListQueues": queues.list_queues,
        "DeleteQueue": queues.delete_queue,
        "GetQueueAttributes": queues.get_queue_attributes,
        "SetQueueAttributes": queues.set_queue_attributes,
        "PurgeQueue": queues.purge_queue,
        "ListDeadLetterSourceQueues": queues.list_dead_letter_source_queues,
        "SendMessage": messages.send_message,
        "ReceiveMessage": messages.receive_message,
        "DeleteMessage": messages.delete_message,
        "ChangeMessageVisibility": messages.change_message_visibility,
        "SendMessageBatch": batches.send_message_batch,
        "DeleteMessageBatch": batches.delete_message_batch,
        "ChangeMessageVisibilityBatch": batches.change_message_visibility_batch,
        "TagQueue": tags.tag_queue,
        "UntagQueue": tags.untag_queue,
        "ListQueueTags": tags.list_queue_tags,
        "AddPermission": tags.add_permission,
        "RemovePermission": tags.remove_permission,
        "StartMessageMoveTask": moves.start_message_move_task,
        "ListMessageMoveTasks": moves.list_message_move_tasks,
        "CancelMessageMoveTask": moves.cancel_message_move_task,
    }
    return ServiceFrontend(
        service(), handlers, map_core_error, path_routed=True, path_param="QueueUrl"
    )
