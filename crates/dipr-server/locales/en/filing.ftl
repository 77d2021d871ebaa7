# Sign-up and the filing form (/signup, /me/file); the form's fields are shared with a filing's page.
signup-title = Sign up
signup-heading = Create an applicant account
signup-username = Username
signup-password = Password (at least 10 characters)
signup-display-name = Your name
signup-button = Create the account
signup-expired = The form expired; please submit it again.

# The applicant: who signs up, or whom an agent files for.
filing-applicant-kind = Applicant kind
filing-applicant-name = Applicant's name
filing-applicant-id = Credit code / resident ID number
filing-party-legal-person = Legal person (enterprise, university, institute)
filing-party-unincorporated = Unincorporated organisation
filing-party-natural-person = Natural person

filing-title = File
filing-heading = File an application
filing-lead = The data itself is never uploaded: describe it and give desensitised samples. Save a draft to add the fingerprint manifest made with dipr fingerprint.
filing-applicant-legend = The applicant you file for
filing-submit = Submit the application
filing-save-draft = Save as draft

# The application form's fields.
filing-choose = Choose
filing-product-name = Product name
filing-object-type = Object type
filing-industry = Industry
filing-scenarios = Application scenarios (comma-separated)
filing-summary = Summary (public)
filing-source-kind = Data source
filing-source-self-collected = Self-collected
filing-source-licensed = Licensed or purchased
filing-source-public-data = Authorised public data
filing-source-description = How the data was obtained
filing-source-counterparty = Licensor or authorising body (required for licensed data; for public data, the authorising body)
filing-source-contract-ref = Licence contract or authorisation reference
filing-source-licence-end = Last day of the licence (the certificate cannot run beyond it)
filing-legality-statement = Legality statement
filing-no-infringement = I commit that no personal information or third-party IP is infringed
filing-processing = Processing rules / algorithm
filing-structure = Structure (one field per line: name:type)
filing-format = Format
filing-update-frequency = Update frequency
filing-frequency-one-off = One-off
filing-frequency-real-time = Real time
filing-frequency-daily = Daily
filing-frequency-weekly = Weekly
filing-frequency-monthly = Monthly
filing-frequency-quarterly = Quarterly
filing-frequency-yearly = Yearly
filing-frequency-irregular = Irregular
filing-secrecy-measures = Secrecy measures
filing-samples = Desensitised samples (one per line)
filing-contact-name = Contact
filing-contact-phone = Phone
filing-contact-email = Email
