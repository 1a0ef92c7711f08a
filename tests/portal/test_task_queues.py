"""Beat jobs and pipeline steps send their follow-up work to the queue they were delivered from
(portal.tasks.queue_of / same_queue), so a worker pool dedicated to a queue handles its own."""

from apps.storage.tasks import deep_copy_sweep
from portal.tasks import queue_of, same_queue


def test_follow_up_work_goes_to_the_queue_the_task_came_from():
    deep_copy_sweep.push_request(delivery_info={"routing_key": "ingest-2"})
    try:
        assert queue_of(deep_copy_sweep) == "ingest-2"
        assert same_queue(deep_copy_sweep) == {"queue": "ingest-2"}
    finally:
        deep_copy_sweep.pop_request()


def test_without_a_routing_key_the_default_queue_is_used():
    for info in (None, {}, {"routing_key": ""}):
        deep_copy_sweep.push_request(delivery_info=info)
        try:
            assert queue_of(deep_copy_sweep) is None
            assert same_queue(deep_copy_sweep) == {}
        finally:
            deep_copy_sweep.pop_request()
