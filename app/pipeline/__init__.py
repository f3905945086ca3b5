"""The one request pipeline every request of both front doors takes.

:mod:`~app.pipeline.route` (what a route declares), :mod:`~app.pipeline.pipeline`
(the WSGI application and the steps), :mod:`~app.pipeline.call` (one request's
state), :mod:`~app.pipeline.audit` (its event), :mod:`~app.pipeline.errors`
(every exception as one error), :mod:`~app.pipeline.json_body` and
:mod:`~app.pipeline.documents` (JSON in and out), :mod:`~app.pipeline.runtime`
(what the doors share per application). The doors (:mod:`app.api`,
:mod:`app.awsapi`) plug into it; it imports neither.
"""
