terraform {
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.70"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # State holds the generated secrets: keep it in an encrypted, private
  # backend for anything beyond a trial, e.g.
  #
  # backend "s3" {
  #   bucket       = "my-terraform-state"
  #   key          = "wa-gateway/terraform.tfstate"
  #   region       = "eu-west-1"
  #   encrypt      = true
  #   use_lockfile = true
  # }
}
