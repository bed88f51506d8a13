"""Project setup units (Tier 2): dir-create, git-init, readme-create, ssh-setup, vscode-setup.

Each unit is one module with one public function returning a result dataclass; the
``project init`` orchestrator and the onboarding wizards compose them. Units never prompt
except through an injected ``ask`` callback, and never import each other.
"""
