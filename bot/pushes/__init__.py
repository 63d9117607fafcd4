"""Everything sent that a resident did not just ask for.

kinds (what each kind of push obeys), delivery (sending, failed pushes, retries),
tasks (the scheduled jobs and their timetable), scheduler (running them once
across processes), broadcasts (staff-written messages).
"""
