"""The committee's rules: quizzes, volunteer events, job postings, people.

Chat handlers, the CLI and the scheduler all call these; none of them decides
a rule on its own.
"""
