"""SQS's `query` protocol traits, which botocore's current (json) SQS model no longer carries.

SQS moved from `query` to `json` in 2023; the shipped model lost the `locationName`s and
historical error codes that older SDKs still send and expect (`Attribute.1.Name`,
`MessageAttribute.1.Value.StringValue`, `<Message>` elements,
`AWS.SimpleQueueService.NonExistentQueue`). This overlay restores them, as data merged
into the model by `wire.AwsService.load("sqs", QUERY_OVERLAY)`. Values follow the SQS
`query` model botocore shipped before the migration (API version 2012-11-05).
"""

from __future__ import annotations

from typing import Any


def _err(code: str, status: int = 400) -> dict[str, Any]:
    return {"error": {"code": code, "httpStatusCode": status, "senderFault": True}}


def _member(name: str) -> dict[str, Any]:
    return {"member": {"locationName": name}}


def _kv(key: str, value: str, loc: str) -> dict[str, Any]:
    return {"key": {"locationName": key}, "value": {"locationName": value}, "locationName": loc}


def _m(**names: str) -> dict[str, Any]:
    return {"members": {k: {"locationName": v} for k, v in names.items()}}


QUERY_OVERLAY: dict[str, Any] = {
    "metadata": {"xmlNamespace": "http://queue.amazonaws.com/doc/2012-11-05/"},
    "shapes": {
        # lists
        "AWSAccountIdList": _member("AWSAccountId"),
        "ActionNameList": _member("ActionName"),
        "AttributeNameList": _member("AttributeName"),
        "MessageAttributeNameList": _member("MessageAttributeName"),
        "MessageSystemAttributeList": _member("MessageSystemAttributeName"),
        "TagKeyList": _member("TagKey"),
        "QueueUrlList": _member("QueueUrl"),
        "MessageList": _member("Message"),
        "StringList": _member("StringListValue"),
        "BinaryList": _member("BinaryListValue"),
        "BatchResultErrorEntryList": _member("BatchResultErrorEntry"),
        "SendMessageBatchRequestEntryList": _member("SendMessageBatchRequestEntry"),
        "SendMessageBatchResultEntryList": _member("SendMessageBatchResultEntry"),
        "DeleteMessageBatchRequestEntryList": _member("DeleteMessageBatchRequestEntry"),
        "DeleteMessageBatchResultEntryList": _member("DeleteMessageBatchResultEntry"),
        "ChangeMessageVisibilityBatchRequestEntryList": _member(
            "ChangeMessageVisibilityBatchRequestEntry"
        ),
        "ChangeMessageVisibilityBatchResultEntryList": _member(
            "ChangeMessageVisibilityBatchResultEntry"
        ),
        "ListMessageMoveTasksResultEntryList": _member("ListMessageMoveTasksResultEntry"),
        # maps
        "QueueAttributeMap": _kv("Name", "Value", "Attribute"),
        "MessageSystemAttributeMap": _kv("Name", "Value", "Attribute"),
        "MessageBodyAttributeMap": _kv("Name", "Value", "MessageAttribute"),
        "MessageBodySystemAttributeMap": _kv("Name", "Value", "MessageSystemAttribute"),
        "TagMap": _kv("Key", "Value", "Tag"),
        # structure members
        "CreateQueueRequest": _m(Attributes="Attribute", tags="Tag"),
        "SetQueueAttributesRequest": _m(Attributes="Attribute"),
        "GetQueueAttributesResult": _m(Attributes="Attribute"),
        "ListQueueTagsResult": _m(Tags="Tag"),
        "TagQueueRequest": _m(Tags="Tag"),
        "SendMessageRequest": _m(
            MessageAttributes="MessageAttribute", MessageSystemAttributes="MessageSystemAttribute"
        ),
        "SendMessageBatchRequestEntry": _m(
            MessageAttributes="MessageAttribute", MessageSystemAttributes="MessageSystemAttribute"
        ),
        "Message": _m(Attributes="Attribute", MessageAttributes="MessageAttribute"),
        "MessageAttributeValue": _m(
            StringListValues="StringListValue", BinaryListValues="BinaryListValue"
        ),
        "MessageSystemAttributeValue": _m(
            StringListValues="StringListValue", BinaryListValues="BinaryListValue"
        ),
        "AddPermissionRequest": _m(AWSAccountIds="AWSAccountId", Actions="ActionName"),
        # historical query error codes
        "QueueDoesNotExist": _err("AWS.SimpleQueueService.NonExistentQueue"),
        "QueueNameExists": _err("QueueAlreadyExists"),
        "QueueDeletedRecently": _err("AWS.SimpleQueueService.QueueDeletedRecently"),
        "PurgeQueueInProgress": _err("AWS.SimpleQueueService.PurgeQueueInProgress", 403),
        "MessageNotInflight": _err("AWS.SimpleQueueService.MessageNotInflight"),
        "ReceiptHandleIsInvalid": _err("ReceiptHandleIsInvalid", 404),
        "InvalidIdFormat": _err("InvalidIdFormat"),
        "BatchEntryIdsNotDistinct": _err("AWS.SimpleQueueService.BatchEntryIdsNotDistinct"),
        "BatchRequestTooLong": _err("AWS.SimpleQueueService.BatchRequestTooLong"),
        "EmptyBatchRequest": _err("AWS.SimpleQueueService.EmptyBatchRequest"),
        "InvalidBatchEntryId": _err("AWS.SimpleQueueService.InvalidBatchEntryId"),
        "TooManyEntriesInBatchRequest": _err(
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
        ),
        "UnsupportedOperation": _err("AWS.SimpleQueueService.UnsupportedOperation"),
        "InvalidAttributeName": _err("InvalidAttributeName"),
        "InvalidAttributeValue": _err("InvalidAttributeValue"),
        "InvalidMessageContents": _err("InvalidMessageContents"),
        "OverLimit": _err("OverLimit", 403),
        "ResourceNotFoundException": _err("ResourceNotFoundException", 404),
        "RequestThrottled": _err("RequestThrottled"),
        "InvalidAddress": _err("InvalidAddress", 404),
        "InvalidSecurity": _err("InvalidSecurity", 403),
        "KmsAccessDenied": _err("KMS.AccessDeniedException"),
        "KmsDisabled": _err("KMS.DisabledException"),
        "KmsInvalidKeyUsage": _err("KMS.InvalidKeyUsageException"),
        "KmsInvalidState": _err("KMS.InvalidStateException"),
        "KmsNotFound": _err("KMS.NotFoundException"),
        "KmsOptInRequired": _err("KMS.OptInRequired", 403),
        "KmsThrottled": _err("KMS.ThrottlingException"),
    },
}
