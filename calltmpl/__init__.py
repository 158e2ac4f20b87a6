"""calltmpl: Mindful callback call targets as code.

The pipeline reads as the package does: queue files (:mod:`calltmpl.queues`) are rendered
through sandboxed Jinja templates (:mod:`calltmpl.render`) into call targets, which the JSON
Schema (:mod:`calltmpl.schema`) and the cross-field rules (:mod:`calltmpl.rules`) check
(:mod:`calltmpl.lint`); :mod:`calltmpl.reporters` formats the diagnostics. A repository is
opened with :meth:`calltmpl.repository.Repository.open`, the front door every command uses.
The library never prints or exits; :mod:`calltmpl.cli` does.
"""
